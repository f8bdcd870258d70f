/**
 * The gateway against a REAL sandbox process and real microVMs: runs stream
 * progressively, replay, stdin, stop, slow consumers, and surviving a sandbox crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamMessage } from '@codecell/protocol';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { captureLogger } from './test/captureLogger.js';
import { kindsOf, openStream, stdoutOf, trpcClient } from './test/clients.js';
import { connectRaw } from './test/rawWsClient.js';
import { startSandbox } from './test/sandboxProcess.js';
import type { SandboxProcess } from './test/sandboxProcess.js';

const STREAM_CAP = 1024 * 1024;
let sandbox: SandboxProcess;
let gw: Gateway;
const log = captureLogger();

beforeAll(async () => {
  sandbox = await startSandbox();
  gw = await createGateway(
    // The token file the sandbox wrote: its CODECELL_CACHE_DIR (inherited) may not be the default one.
    loadConfig({ PORT: '0', COLLAB_DB: ':memory:', SANDBOX_ADDR: `127.0.0.1:${sandbox.port}`, SANDBOX_TOKEN_FILE: sandbox.tokenFile, RUN_TIMEOUT_MS: '15000', STREAM_MAX_BUFFERED_BYTES: String(STREAM_CAP) }),
    log.logger,
  );
});

afterAll(async () => {
  await gw?.close();
  await sandbox?.stop();
});

const main = (content: string) => [{ path: 'main.py', content }];
const endOf = (messages: StreamMessage[]) => messages.find((m) => m.type === 'end');

describe('gateway + real sandbox', () => {
  it('streams a run progressively, in order, and replays it to a late subscriber', async () => {
    const client = trpcClient(gw.url);
    const { jobId } = await client.runCode.mutate({ files: main('import time\nprint("first")\ntime.sleep(0.3)\nprint("second")\n') });
    const s = openStream(gw.url, jobId);
    expect(await s.closed).toEqual({ code: 1000, reason: 'run ended' });
    const kinds = kindsOf(s.messages);
    expect(kinds[0]).toBe('hello');
    // A Python run has one stage, announced by the sandbox (issue 10) and relayed like every event.
    expect(kinds.filter((k) => k !== 'stdout')).toEqual(['hello', 'queued', 'start', 'stage', 'exit', 'end']);
    expect(stdoutOf(s.messages)).toBe('first\nsecond\n');
    expect(endOf(s.messages)).toEqual({ type: 'end', status: 'ok', code: 0, message: null });
    // Progressive: "second" arrived well after "first", not in one batch at the end.
    expect(s.timeOfStdout('second') - s.timeOfStdout('first')).toBeGreaterThan(150);
    const seqs = s.messages.flatMap((m) => (m.type === 'event' ? [m.seq] : []));
    expect(seqs).toEqual(seqs.map((_, i) => i));

    const late = openStream(gw.url, jobId);
    await late.closed;
    expect(late.messages).toEqual(s.messages);
  });

  it("issue 8: the seed payload {language, source} sent as raw HTTP prints hello through /stream", async () => {
    const res = await fetch(`${gw.url}/trpc/runCode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ language: 'py', source: "print('hello')" }),
    });
    expect(res.status).toBe(200);
    const { result } = (await res.json()) as { result: { data: { jobId: string } } };
    const s = openStream(gw.url, result.data.jobId);
    await s.closed;
    expect(stdoutOf(s.messages)).toBe('hello\n');
    expect(endOf(s.messages)).toEqual({ type: 'end', status: 'ok', code: 0, message: null });
  });

  it("runs the entry with the other files in the room's session VM; the workspace then holds exactly the next run's files (issue 11)", async () => {
    const client = trpcClient(gw.url);
    const files = [
      { path: 'app.py', content: 'import util\nopen("note.txt", "w").write(util.WORD)\nprint(util.WORD)\n' },
      { path: 'util.py', content: 'WORD = "shared"\n' },
    ];
    const first = await client.runCode.mutate({ roomId: 'vmtest-room', files, entry: 'app.py' });
    const s1 = openStream(gw.url, first.jobId);
    await s1.closed;
    expect(stdoutOf(s1.messages)).toBe('shared\n');
    // What the run wrote comes back as a file event, and so joins the room (issue 11).
    expect(s1.messages.some((m) => m.type === 'event' && m.event.type === 'file' && m.event.path === 'note.txt')).toBe(true);
    // The next run of the room lands in the same session VM, and files its request no longer has are gone
    // from /workspace: the room (whose files the browser sends) and the VM never disagree.
    const second = await client.runCode.mutate({ roomId: 'vmtest-room', files: main('import os\nprint(os.path.exists("note.txt"), os.path.exists("util.py"))\n') });
    const s2 = openStream(gw.url, second.jobId);
    await s2.closed;
    expect(stdoutOf(s2.messages)).toBe('False False\n');
    const vmOf = (m: readonly StreamMessage[]): string | undefined => m.flatMap((e) => (e.type === 'event' && e.event.type === 'start' ? [e.event.vmId] : []))[0];
    expect(vmOf(s2.messages)).toBeDefined();
    expect(vmOf(s2.messages)).toBe(vmOf(s1.messages));
  });

  it('round-trips stdin: buffered before the start, then forwarded live', async () => {
    const client = trpcClient(gw.url);
    const { jobId } = await client.runCode.mutate({ files: main('a = input()\nprint("got", a)\nb = input()\nprint("then", b)\n') });
    // Sent at once: the run is still queued or starting, so this is buffered.
    await client.sendStdin.mutate({ jobId, data: 'ada\n' });
    const s = openStream(gw.url, jobId);
    await s.waitForStdout('got ada\n');
    await client.sendStdin.mutate({ jobId, data: 'lovelace\n', eof: true });
    await s.closed;
    expect(stdoutOf(s.messages)).toBe('got ada\nthen lovelace\n');
    expect(endOf(s.messages)).toMatchObject({ status: 'ok' });
    await expect(client.sendStdin.mutate({ jobId, data: 'late' })).rejects.toMatchObject({ data: { codecellCode: 'run_finished' } });
  });

  it('stopRun kills a busy loop: the run ends with status killed', async () => {
    const client = trpcClient(gw.url);
    const { jobId } = await client.runCode.mutate({ files: main('print("spinning")\nwhile True: pass\n') });
    const s = openStream(gw.url, jobId);
    await s.waitForStdout('spinning\n');
    const t0 = performance.now();
    await client.stopRun.mutate({ jobId });
    await s.closed;
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(s.messages.find((m) => m.type === 'event' && m.event.type === 'exit')).toMatchObject({ event: { status: 'killed' } });
    expect(endOf(s.messages)).toMatchObject({ type: 'end', status: 'killed' });
  });

  it('closes a stalled stream client with 4429 without buffering its output without bound', async () => {
    const client = trpcClient(gw.url);
    const source = 'import sys\nfor i in range(192):\n    sys.stdout.write("x" * 65535 + "\\n")\n'; // 12 MiB
    const { jobId } = await client.runCode.mutate({ files: main(source), limits: { outputBytes: 16 * 1024 * 1024 } });
    const stalled = await connectRaw(gw.url, `/stream/${jobId}`);
    stalled.stall();
    try {
      const healthy = openStream(gw.url, jobId);
      await healthy.closed;
      expect(stdoutOf(healthy.messages)).toHaveLength(192 * 65536);
      expect(endOf(healthy.messages)).toMatchObject({ status: 'ok' });
      const biggest = Math.max(...healthy.messages.map((m) => JSON.stringify(m).length));
      const warn = log.entries.find((e) => e.msg.startsWith('closing a stream socket') && e.data?.['jobId'] === jobId);
      expect(warn?.data?.['bufferedAmount']).toBeGreaterThan(STREAM_CAP);
      // What the gateway holds for the stalled peer: at most the cap plus the message that crossed it.
      expect(warn?.data?.['bufferedAmount']).toBeLessThanOrEqual(STREAM_CAP + biggest);
      expect(gw.streams.bufferedBytes).toBeLessThanOrEqual(STREAM_CAP + biggest);
      const { closeCode } = await stalled.drain();
      expect(closeCode).toBe(4429);
    } finally {
      stalled.destroy();
    }
  });

  it('closes a stream for an unknown jobId with 4404', async () => {
    const s = openStream(gw.url, 'no-such-job');
    expect((await s.closed).code).toBe(4404);
  });

  it('survives the sandbox dying mid-run and recovers once it is back', async () => {
    const client = trpcClient(gw.url);
    const { jobId } = await client.runCode.mutate({ files: main('import time\nprint("before")\nwhile True: time.sleep(0.05)\n') });
    const s = openStream(gw.url, jobId);
    await s.waitForStdout('before\n');
    const port = sandbox.port;
    await sandbox.crash();
    await s.closed;
    const error = s.messages.find((m) => m.type === 'event' && m.event.type === 'error');
    expect(error).toMatchObject({ event: { code: 'sandbox_unavailable' } });
    expect(endOf(s.messages)).toMatchObject({ type: 'end', status: 'sandbox_unavailable', code: null });

    const down = await client.health.query();
    expect(down).toMatchObject({ ok: false, sandbox: null, message: expect.stringMatching(/is not reachable/) as string });
    const refused = await client.runCode.mutate({ files: main('print(1)\n') });
    const r = openStream(gw.url, refused.jobId);
    await r.closed;
    expect(endOf(r.messages)).toMatchObject({ status: 'sandbox_unavailable' });

    sandbox = await startSandbox({ port });
    const up = await client.health.query();
    expect(up).toMatchObject({ ok: true, message: null, sandbox: { ready: true } });
    const { jobId: again } = await client.runCode.mutate({ files: main('print("back")\n') });
    const a = openStream(gw.url, again);
    await a.closed;
    expect(stdoutOf(a.messages)).toBe('back\n');
  });
});
