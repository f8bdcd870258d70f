/**
 * Issue 12 item 5 (one round trip from Run to output): work that can wait
 * does not sit between the page's `run` and the request leaving for the
 * sandbox. Ordering only; the time it saves is measured by
 * `npm run bench -- gateway-fake`.
 */
import { describe, expect, it } from 'vitest';
import { runCodeInputSchema } from '@codecell/protocol';
import type { RunRequest } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { LocalRuns } from './runs/local/LocalRuns.js';
import { RunManager } from './runs/RunManager.js';
import type { RunManagerOptions } from './runs/RunManager.js';
import { SandboxClient } from './sandboxClient.js';
import type { SandboxRunHandle } from './sandboxClient.js';
import { FakeSandbox } from './test/FakeSandbox.js';
import { startFakeSandboxServer, startNdjson } from './test/fakeSandboxServer.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const input = (roomId: string) => runCodeInputSchema.parse({ roomId, files: [{ path: 'main.py', content: 'print(1)' }] });

/** A fake sandbox whose requests leave only when the test says so (`send` the oldest, or `open` for all from now on), and are answered after that. */
function slowWire(): { sandbox: FakeSandbox; send: () => void; open: () => void } {
  const sandbox = new FakeSandbox();
  const answer = sandbox.run.bind(sandbox);
  const waiting: Array<() => void> = [];
  let opened = false;
  sandbox.run = (body: RunRequest, signal?: AbortSignal, onSent?: () => void): Promise<SandboxRunHandle> =>
    new Promise<void>((resolve) => {
      waiting.push(() => (onSent?.(), resolve()));
      if (opened) waiting.shift()?.();
    }).then(() => answer(body, signal));
  const open = (): void => {
    opened = true;
    while (waiting.length > 0) waiting.shift()?.();
  };
  return { sandbox, send: () => waiting.shift()?.(), open };
}

function manager(sandbox: FakeSandbox, o: Partial<RunManagerOptions>): RunManager {
  const backend = new LocalRuns({ sandbox, logger: silentLogger, slots: 1 });
  return new RunManager({ backend, logger: silentLogger, defaults: { timeoutMs: 5000, memoryMb: 128, vcpus: 1 }, ...o });
}

describe('issue 12: the sandbox request leaves first', () => {
  it('the sandbox client tells when its request left, before the sandbox answers', async () => {
    let answer: () => void = () => undefined;
    await using fake = await startFakeSandboxServer((_req, res) => {
      answer = () => {
        startNdjson(res, 'sbx-1');
        res.end();
      };
    });
    const client = new SandboxClient({ baseUrl: fake.url });
    let sent = 0;
    const handle = client.run({ language: 'py', source: 'print(1)' }, undefined, () => sent++);
    await expect.poll(() => fake.requests.length).toBe(1);
    expect(sent).toBe(1);
    answer();
    expect((await handle).jobId).toBe('sbx-1');
    expect(sent).toBe(1);
    client.dispose();
  });

  it('records a run that starts at once in its room only after its request left; a run that waits, at once', async () => {
    const { sandbox, send, open } = slowWire();
    const updates: string[] = [];
    const runs = manager(sandbox, { onRunUpdate: (u) => updates.push(`${u.record.jobId}:${u.record.status}`) });
    const submittedA = runs.submit(input('r1'));
    await tick();
    expect(updates).toEqual([]);
    const b = await runs.submit(input('r2')); // no slot: it waits
    expect(updates).toEqual([`${b.jobId}:queued`]);
    send();
    const a = await submittedA;
    expect(updates).toEqual([`${b.jobId}:queued`, `${a.jobId}:queued`]);
    await tick();
    sandbox.runs[0]?.start();
    sandbox.runs[0]?.exit();
    for (let i = 0; i < 5; i++) await tick();
    expect(updates.filter((u) => u.startsWith(a.jobId))).toEqual([`${a.jobId}:queued`, `${a.jobId}:running`, `${a.jobId}:ok`]);
    open(); // b's request
    await tick();
    await runs.dispose();
  });

  it('a run whose request never left is still recorded, queued then how it failed', async () => {
    const sandbox = new FakeSandbox();
    sandbox.nextRunError = new Error('connect ECONNREFUSED');
    const updates: string[] = [];
    const runs = manager(sandbox, { onRunUpdate: (u) => updates.push(u.record.status) });
    await runs.submit(input('r1'));
    for (let i = 0; i < 3; i++) await tick();
    expect(updates).toEqual(['queued', 'internal_error']);
    await runs.dispose();
  });
});
