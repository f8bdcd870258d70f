/**
 * Issue 13, Piston's `ws /api/v2/connect` against the scripted sandbox (P5 in
 * gateway/SPEC.md): interactive stdin, a kill, compile stages, and every one
 * of Piston's close codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { PistonCloseCode, pistonServerMessageSchema } from '@codecell/protocol';
import type { PistonServerMessage } from '@codecell/protocol';
import { startCompatGateway } from '../../test/compatGateway.js';
import type { CompatGateway } from '../../test/compatGateway.js';
import { createAdmin } from '../../test/hosted.js';

let t: CompatGateway;
beforeAll(async () => {
  t = await startCompatGateway();
});
afterAll(() => t?.close());

/** A client of the socket that keeps what the server sent and how it closed. */
interface Session {
  readonly ws: WebSocket;
  readonly messages: PistonServerMessage[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(msg: object): void;
  /** Resolves with the first message (from the start) that `match` accepts. */
  waitFor(match: (m: PistonServerMessage) => boolean): Promise<PistonServerMessage>;
}

async function connect(base: string, headers: Record<string, string> = {}): Promise<Session> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v2/connect`, { headers });
  const messages: PistonServerMessage[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data: Buffer) => {
    messages.push(pistonServerMessageSchema.parse(JSON.parse(data.toString('utf8'))));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waitFor = async (match: (m: PistonServerMessage) => boolean): Promise<PistonServerMessage> => {
    for (;;) {
      const found = messages.find(match);
      if (found) return found;
      await Promise.race([new Promise<void>((r) => waiters.push(r)), closed.then(() => Promise.reject(new Error(`closed before a match; got ${JSON.stringify(messages)}`)))]);
    }
  };
  return { ws, messages, closed, send: (msg) => ws.send(JSON.stringify(msg)), waitFor };
}

const init = (content: string, extra: object = {}) => ({ type: 'init', language: 'python', version: '*', files: [{ content }], ...extra });

describe('ws /api/v2/connect (P5)', () => {
  it('interactive stdin round trip: runtime, stage, data as the program writes it, exit, 4999', async () => {
    const s = await connect(t.gw.url);
    s.send(init('out ready\nline\nline'));
    await s.waitFor((m) => m.type === 'data' && m.data === 'ready\n');
    s.send({ type: 'data', stream: 'stdin', data: 'first\n' });
    await s.waitFor((m) => m.type === 'data' && m.data === 'first\n');
    s.send({ type: 'data', stream: 'stdin', data: 'second\n' });
    expect(await s.closed).toEqual({ code: PistonCloseCode.jobCompleted, reason: 'Job Completed' });
    expect(s.messages).toEqual([
      { type: 'runtime', language: 'python', version: '3.11.2' },
      { type: 'stage', stage: 'run' },
      { type: 'data', stream: 'stdout', data: 'ready\n' },
      { type: 'data', stream: 'stdout', data: 'first\n' },
      { type: 'data', stream: 'stdout', data: 'second\n' },
      { type: 'exit', stage: 'run', code: 0, signal: null },
    ]);
    expect(t.sandbox.runs.at(-1)).toMatchObject({ stdinOpen: true });
  });

  it('a signal kills the program: exit with SIGKILL, then 4999', async () => {
    const s = await connect(t.gw.url);
    s.send(init('out looping\nhang', { run_timeout: 30_000 }));
    await s.waitFor((m) => m.type === 'data');
    s.send({ type: 'signal', signal: 'SIGTERM' });
    expect((await s.closed).code).toBe(PistonCloseCode.jobCompleted);
    expect(s.messages.at(-1)).toEqual({ type: 'exit', stage: 'run', code: null, signal: 'SIGKILL' });
  });

  it('a compiled language reports its compile stage and its end before the run stage', async () => {
    const s = await connect(t.gw.url);
    s.send(init('out compiled', { language: 'c++' }));
    await s.closed;
    expect(s.messages.map((m) => (m.type === 'exit' ? `exit ${m.stage} ${m.code}` : m.type === 'stage' ? `stage ${m.stage}` : m.type))).toEqual(['runtime', 'stage compile', 'exit compile 0', 'stage run', 'data', 'exit run 0']);
  });

  it('a compile error ends with the compile stage\'s exit', async () => {
    const s = await connect(t.gw.url);
    s.send(init('compile-error nope', { language: 'rust' }));
    await s.closed;
    expect(s.messages.slice(-2)).toEqual([
      { type: 'data', stream: 'stderr', data: 'main.rs:1:1: error: nope\n' },
      { type: 'exit', stage: 'compile', code: 1, signal: null },
    ]);
  });

  it('closing the socket stops the run', async () => {
    const s = await connect(t.gw.url);
    s.send(init('out x\nhang', { run_timeout: 30_000 }));
    await s.waitFor((m) => m.type === 'data');
    const before = t.sandbox.active.now;
    s.ws.close();
    for (let i = 0; i < 100 && t.sandbox.active.now >= before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(t.sandbox.active.now).toBe(before - 1);
  });

  it.each([
    { name: 'no init within 1 s', sends: [], code: PistonCloseCode.initTimeout, reason: 'Initialization Timeout' },
    { name: 'data before init', sends: [{ type: 'data', stream: 'stdin', data: 'x' }], code: PistonCloseCode.notInitialised, reason: 'Not yet initialized' },
    { name: 'init twice', sends: [init('line'), init('line')], code: PistonCloseCode.alreadyInitialised, reason: 'Already Initialized' },
    { name: 'data to stdout', sends: [init('line'), { type: 'data', stream: 'stdout', data: 'x' }], code: PistonCloseCode.onlyStdin, reason: 'Can only write to stdin' },
    { name: 'an unknown signal', sends: [init('line'), { type: 'signal', signal: 'SIGNOPE' }], code: PistonCloseCode.invalidSignal, reason: 'Invalid signal' },
  ])('$name closes with Piston\'s code', async ({ sends, code, reason }) => {
    const s = await connect(t.gw.url);
    for (const m of sends) s.send(m);
    expect(await s.closed).toEqual({ code, reason });
  });

  it('bad init is an error message, then 4002', async () => {
    const s = await connect(t.gw.url);
    s.send(init('x', { language: 'cobol' }));
    expect(await s.closed).toEqual({ code: PistonCloseCode.notifiedError, reason: 'Notified Error' });
    expect(s.messages).toEqual([{ type: 'error', message: 'cobol-* runtime is unknown' }]);
    const bad = await connect(t.gw.url);
    bad.ws.send('{not json');
    expect((await bad.closed).code).toBe(PistonCloseCode.notifiedError);
  });

  it('hosted mode: the upgrade\'s Authorization header is the API token; without one init is refused', async () => {
    await using h = await startCompatGateway({ env: { AUTH_MODE: 'local' } });
    const admin = await createAdmin(h.gw);
    const { token } = await admin.trpc.auth.createToken.mutate({ name: 'bot' });
    const anonymous = await connect(h.gw.url);
    anonymous.send(init('out x'));
    expect((await anonymous.closed).code).toBe(PistonCloseCode.notifiedError);
    expect(anonymous.messages[0]).toMatchObject({ type: 'error', message: expect.stringMatching(/needs an API token/) as string });
    const bot = await connect(h.gw.url, { Authorization: `Bearer ${token}` });
    bot.send(init('out hello bot'));
    expect((await bot.closed).code).toBe(PistonCloseCode.jobCompleted);
    expect(bot.messages).toContainEqual({ type: 'data', stream: 'stdout', data: 'hello bot\n' });
  });
});
