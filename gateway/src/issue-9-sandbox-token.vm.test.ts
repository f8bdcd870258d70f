/**
 * Issue 9, end to end with real processes and real microVMs: the gateway's
 * real SandboxClient against a real sandbox that requires its token. With no
 * configuration the sandbox generates the token file (0600) on first start
 * and the gateway finds it, whichever of the two starts first; anyone without
 * the token is refused. The same over a Unix socket (SANDBOX_SOCKET /
 * SANDBOX_ADDR=unix:).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { openStream, stdoutOf, trpcClient } from './test/clients.js';
import { freePort, startSandbox } from './test/sandboxProcess.js';
import type { SandboxProcess } from './test/sandboxProcess.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'cc-issue9-e2e-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function sandboxOn(o: Parameters<typeof startSandbox>[0]): Promise<SandboxProcess> {
  const sb = await startSandbox(o);
  cleanups.push(() => sb.stop());
  return sb;
}

async function gatewayFor(env: Record<string, string>): Promise<Gateway> {
  const gw = await createGateway(loadConfig({ PORT: '0', COLLAB_DB: ':memory:', RUN_TIMEOUT_MS: '20000', ...env }), silentLogger);
  cleanups.push(() => gw.close());
  return gw;
}

async function runThrough(gw: Gateway, source: string): Promise<string> {
  const { jobId } = await trpcClient(gw.url).runCode.mutate({ files: [{ path: 'main.py', content: source }] });
  const s = openStream(gw.url, jobId);
  await s.closed;
  return stdoutOf(s.messages);
}

describe('issue 9: gateway and sandbox share a generated token', () => {
  it('works with the generated token file whichever starts first, and refuses callers without it', async () => {
    const tokenFile = join(tmp(), 'sandbox.token');
    const port = await freePort();
    // The gateway first: the file does not exist yet.
    const gw = await gatewayFor({ SANDBOX_ADDR: `127.0.0.1:${port}`, SANDBOX_TOKEN_FILE: tokenFile });
    expect((await trpcClient(gw.url).health.query()).ok).toBe(false);
    const sb = await sandboxOn({ port, env: { SANDBOX_TOKEN_FILE: tokenFile } });
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(await runThrough(gw, 'print("through the token")')).toBe('through the token\n');
    expect((await trpcClient(gw.url).health.query()).sandbox?.hostCgroups.mode).toBeDefined(); // reachable and authenticated

    const anonymous = await fetch(`${sb.url}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"language":"py","source":"print(1)"}' });
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${sb.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-the-sandbox-token-0000' },
      body: '{"language":"py","source":"print(1)"}',
    });
    expect(wrong.status).toBe(401);

    // A gateway with another token file is refused with a message saying what to change.
    const other = await gatewayFor({ SANDBOX_ADDR: `127.0.0.1:${port}`, SANDBOX_TOKEN_FILE: join(tmp(), 'sandbox.token') });
    const { jobId } = await trpcClient(other.url).runCode.mutate({ files: [{ path: 'main.py', content: 'print(1)' }] });
    const s = openStream(other.url, jobId);
    await s.closed;
    expect(s.messages.find((m) => m.type === 'end')).toMatchObject({
      status: 'sandbox_unavailable',
      message: expect.stringMatching(/refused the gateway: no token: .* does not exist yet/) as string,
    });
  });

  it('runs over a Unix socket (SANDBOX_SOCKET, SANDBOX_ADDR=unix:)', async () => {
    const dir = tmp();
    const socket = join(dir, 'sandbox.sock');
    const tokenFile = join(dir, 'sandbox.token');
    const sb = await sandboxOn({ socket, env: { SANDBOX_TOKEN_FILE: tokenFile } });
    expect(sb.url).toBe(`unix:${socket}`);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const gw = await gatewayFor({ SANDBOX_ADDR: sb.url, SANDBOX_TOKEN_FILE: tokenFile });
    expect(await runThrough(gw, 'print("over the socket")')).toBe('over the socket\n');
  });
});
