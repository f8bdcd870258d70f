import { describe, expect, it, vi } from 'vitest';
import type { StreamMessage } from '@codecell/protocol';
import { createMemoryJobStorage } from './jobStorage';
import { RunController } from './RunController';
import type { RunApi } from './RunController';
import type { RunStreamHandlers } from './runStream';

function setup(opts: { stored?: string | null; api?: Partial<RunApi> } = {}) {
  const streams: Array<{ jobId: string; handlers: RunStreamHandlers; closed: boolean }> = [];
  const mocks = {
    runCode: vi.fn<RunApi['runCode']>(async () => ({ jobId: 'job1', position: 0 })),
    sendStdin: vi.fn<RunApi['sendStdin']>(async () => ({ ok: true })),
    stopRun: vi.fn<RunApi['stopRun']>(async () => ({ ok: true })),
  };
  const api: RunApi = { ...mocks, ...opts.api };
  const storage = createMemoryJobStorage(opts.stored ?? null);
  const controller = new RunController({
    api,
    storage,
    workspace: () => ({ entry: 'main.py', files: [{ path: 'main.py', content: 'print(1)' }] }),
    toUserError: (err) => ({ code: 'x', message: String(err) }),
    schedule: (fn) => fn(),
    openStream: (jobId, handlers) => {
      const s = { jobId, handlers, closed: false };
      streams.push(s);
      return { close: () => void (s.closed = true) };
    },
  });
  const send = (m: StreamMessage): void => streams.at(-1)!.handlers.onMessage(m);
  return { controller, api: mocks, storage, streams, send };
}

describe('RunController', () => {
  it('submits the workspace, saves the jobId and follows the stream', async () => {
    const { controller, api, storage, streams, send } = setup();
    const seen: string[] = [];
    controller.subscribe(() => seen.push(controller.getState().phase));
    await controller.run();
    expect(api.runCode).toHaveBeenCalledWith({ language: 'py', entry: 'main.py', files: [{ path: 'main.py', content: 'print(1)' }] });
    expect(storage.load()).toBe('job1');
    expect(streams[0]?.jobId).toBe('job1');
    send({ type: 'event', seq: 0, event: { type: 'start', jobId: 'job1', vmId: 'v', at: 1 } });
    send({ type: 'end', status: 'ok', code: 0, message: null });
    expect(streams[0]?.closed).toBe(true);
    expect(seen).toEqual(['submitting', 'starting', 'running', 'finished']);
  });

  it('ignores Run while a run is active', async () => {
    const { controller, api } = setup();
    await controller.run();
    await controller.run();
    expect(api.runCode).toHaveBeenCalledTimes(1);
  });

  it('shows a failed submit as an error', async () => {
    const { controller } = setup({ api: { runCode: vi.fn(async () => Promise.reject(new Error('down'))) } });
    await controller.run();
    expect(controller.getState()).toMatchObject({ phase: 'idle', error: { message: 'Error: down' } });
  });

  it('sends stdin lines with a newline, then EOF, and echoes them', async () => {
    const { controller, api } = setup();
    await controller.run();
    await controller.sendLine('Ada');
    await controller.sendEof();
    expect(api.sendStdin).toHaveBeenNthCalledWith(1, { jobId: 'job1', data: 'Ada\n' });
    expect(api.sendStdin).toHaveBeenNthCalledWith(2, { jobId: 'job1', data: '', eof: true });
    expect(controller.getState().output.map((c) => c.text)).toEqual(['Ada\n']);
    await controller.sendLine('late');
    expect(api.sendStdin).toHaveBeenCalledTimes(2);
  });

  it('stops once', async () => {
    const { controller, api } = setup();
    await controller.run();
    await controller.stop();
    await controller.stop();
    expect(api.stopRun).toHaveBeenCalledTimes(1);
    expect(controller.getState().stopping).toBe(true);
  });

  it('re-attaches to a stored run after a reload', () => {
    const { controller, streams, send } = setup({ stored: 'old1' });
    controller.restore();
    expect(controller.getState()).toMatchObject({ phase: 'attaching', jobId: 'old1' });
    send({ type: 'hello', protocolVersion: 1, jobId: 'old1', startedBy: null, truncated: false });
    send({ type: 'event', seq: 0, event: { type: 'stdout', data: 'earlier\n' } });
    expect(streams[0]?.jobId).toBe('old1');
    expect(controller.getState().output[0]?.text).toBe('earlier\n');
  });

  it('forgets a stored run the gateway no longer knows', () => {
    const { controller, streams, storage } = setup({ stored: 'old1' });
    controller.restore();
    streams[0]!.handlers.onGone('unknown job');
    expect(storage.load()).toBeNull();
    expect(controller.getState()).toMatchObject({ phase: 'idle', error: null });
  });
});
