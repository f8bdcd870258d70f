import { describe, expect, it, vi } from 'vitest';
import type { RunCodeInput, RunCodeOutput, StreamMessage } from '@codecell/protocol';
import { RunController } from './RunController';
import type { RunApi } from './RunController';
import type { RunStreamHandlers } from './runStream';

/** The gateway calls a run makes, plus `runCode` (what the IDE's `start` calls). */
type Api = RunApi & { runCode(input: RunCodeInput): Promise<RunCodeOutput> };
const submission: RunCodeInput = { roomId: 'r1', startedBy: 'Ada', entry: 'main.py', language: 'py', files: [{ path: 'main.py', content: 'print(1)' }] };

function setup(opts: { api?: Partial<Api> } = {}) {
  const streams: Array<{ jobId: string; handlers: RunStreamHandlers; closed: boolean }> = [];
  const mocks = {
    runCode: vi.fn<Api['runCode']>(async () => ({ jobId: 'job1', position: 0 })),
    sendStdin: vi.fn<RunApi['sendStdin']>(async () => ({ ok: true })),
    stopRun: vi.fn<RunApi['stopRun']>(async () => ({ ok: true })),
    resize: vi.fn<RunApi['resize']>(async () => ({ ok: true })),
  };
  const api: Api = { ...mocks, ...opts.api };
  const controller = new RunController({
    api,
    start: () => api.runCode(submission),
    toUserError: (err) => ({ code: 'x', message: String(err) }),
    schedule: (fn) => fn(),
    openStream: (jobId, handlers) => {
      const s = { jobId, handlers, closed: false };
      streams.push(s);
      return { close: () => void (s.closed = true) };
    },
  });
  const send = (m: StreamMessage): void => streams.at(-1)!.handlers.onMessage(m);
  return { controller, api: mocks, streams, send };
}

describe('RunController', () => {
  it('submits the room files as whoever pressed Run and follows the stream', async () => {
    const { controller, api, streams, send } = setup();
    const seen: string[] = [];
    controller.subscribe(() => seen.push(controller.getState().phase));
    await controller.run();
    expect(api.runCode).toHaveBeenCalledWith({
      language: 'py',
      roomId: 'r1',
      startedBy: 'Ada',
      entry: 'main.py',
      files: [{ path: 'main.py', content: 'print(1)' }],
    });
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

  it('attaches to a run started by someone else and replays it', () => {
    const { controller, streams, send } = setup();
    controller.attach('old1');
    controller.attach('old1');
    expect(streams).toHaveLength(1);
    expect(controller.getState()).toMatchObject({ phase: 'attaching', jobId: 'old1' });
    send({ type: 'hello', protocolVersion: 1, jobId: 'old1', startedBy: 'Bob', truncated: false });
    send({ type: 'event', seq: 0, event: { type: 'stdout', data: 'earlier\n' } });
    expect(streams[0]?.jobId).toBe('old1');
    expect(controller.getState()).toMatchObject({ startedBy: 'Bob', output: [{ text: 'earlier\n' }] });
  });

  it('lets anyone stop and type into an attached run', async () => {
    const { controller, api, send } = setup();
    controller.attach('r2');
    send({ type: 'hello', protocolVersion: 1, jobId: 'r2', startedBy: 'Bob', truncated: false });
    send({ type: 'event', seq: 0, event: { type: 'start', jobId: 'r2', vmId: 'v', at: 1 } });
    await controller.sendLine('hi');
    await controller.stop();
    expect(api.sendStdin).toHaveBeenCalledWith({ jobId: 'r2', data: 'hi\n' });
    expect(api.stopRun).toHaveBeenCalledWith({ jobId: 'r2' });
  });

  it('switches to a newer run, closing the old stream', () => {
    const { controller, streams } = setup();
    controller.attach('a');
    controller.attach('b');
    expect(streams.map((s) => [s.jobId, s.closed])).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });

  it('keeps its own submitted run when another run appears during the submit', async () => {
    let resolve!: (v: { jobId: string; position: number }) => void;
    const { controller, streams } = setup({ api: { runCode: vi.fn(() => new Promise<{ jobId: string; position: number }>((r) => (resolve = r))) } });
    const running = controller.run();
    controller.attach('someone-else');
    resolve({ jobId: 'mine', position: 0 });
    await running;
    expect(streams.map((s) => s.jobId)).toEqual(['mine']);
    expect(controller.getState().jobId).toBe('mine');
  });

  it('attaches to the other run when its own submit fails', async () => {
    let reject!: (e: Error) => void;
    const { controller, streams } = setup({ api: { runCode: vi.fn(() => new Promise<{ jobId: string; position: number }>((_, r) => (reject = r))) } });
    const running = controller.run();
    controller.attach('someone-else');
    reject(new Error('busy'));
    await running;
    expect(streams.map((s) => s.jobId)).toEqual(['someone-else']);
  });

  it('quietly forgets a run the gateway no longer knows', () => {
    const { controller, streams } = setup();
    controller.attach('old1');
    streams[0]!.handlers.onGone('unknown job');
    expect(controller.getState()).toMatchObject({ phase: 'idle', error: null });
  });

  it('issue 12: on a terminal, keystrokes and lines go as typed (no local echo), EOF is Ctrl+D, and resizes follow the pane', async () => {
    const { controller, api, send } = setup();
    await controller.run();
    send({ type: 'event', seq: 0, event: { type: 'start', jobId: 'job1', vmId: 'v', at: 1 } });
    send({ type: 'event', seq: 1, event: { type: 'size', cols: 80, rows: 24 } });
    await controller.sendKeys('a');
    await controller.sendLine('Ada');
    await controller.sendEof();
    expect(api.sendStdin.mock.calls.map((c) => c[0])).toEqual([
      { jobId: 'job1', data: 'a' },
      { jobId: 'job1', data: 'Ada\r' },
      { jobId: 'job1', data: '\x04' },
    ]);
    expect(controller.getState().output).toEqual([]);
    await controller.resize({ cols: 80, rows: 24 });
    await controller.resize({ cols: 120, rows: 40 });
    expect(api.resize.mock.calls.map((c) => c[0])).toEqual([{ jobId: 'job1', cols: 120, rows: 40 }]);
    controller.refused({ jobId: 'other', code: 'forbidden', message: 'no' });
    expect(controller.getState().error).toBeNull();
    controller.refused({ jobId: 'job1', code: 'forbidden', message: 'runner needed' });
    expect(controller.getState().error).toEqual({ code: 'forbidden', message: 'runner needed' });
    send({ type: 'end', status: 'ok', code: 0, message: null });
    await controller.resize({ cols: 90, rows: 30 });
    expect(api.resize).toHaveBeenCalledTimes(1);
  });
});
