import { request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeCellError } from '@codecell/protocol';
import type { RunEvent } from '@codecell/protocol';
import { readRunEvents } from './sandboxEvents.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeSandboxServer } from './test/fakeSandboxServer.js';

const exit = { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 } as const;
const stdout = (data: string): RunEvent => ({ type: 'stdout', data });

let fake: FakeSandboxServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A `POST /run` answered by `answer`; its response and the reader over it. */
async function answerWith(answer: (res: ServerResponse) => void): Promise<{ res: IncomingMessage; events: AsyncIterable<RunEvent>; pastExit: WeakSet<IncomingMessage> }> {
  fake = await startFakeSandboxServer((_req, res) => answer(res));
  const url = new URL(fake.url);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/run', method: 'POST' }, resolve);
    req.once('error', reject);
    req.end('{}');
  });
  const pastExit = new WeakSet<IncomingMessage>();
  const broken = (err: unknown): Error => new CodeCellError('sandbox_unavailable', `broke: ${String(err)}`);
  return { res, events: readRunEvents(res, { address: fake.url, broken, pastExit }), pastExit };
}

describe('readRunEvents', () => {
  it('holds the events of one chunk for the caller and reads no further until they are taken', async () => {
    let more: () => void = () => undefined;
    const { res, events } = await answerWith((r) => {
      startNdjson(r, 'j');
      r.write(`${JSON.stringify(stdout('a'))}\n${JSON.stringify(stdout('b'))}\n${JSON.stringify(stdout('c'))}\n`);
      more = () => {
        writeEvent(r, exit);
        r.end();
      };
    });
    const it = events[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: stdout('a'), done: false });
    // b and c wait for the caller: the answer is paused meanwhile.
    expect(res.isPaused()).toBe(true);
    expect((await it.next()).value).toEqual(stdout('b'));
    expect((await it.next()).value).toEqual(stdout('c'));
    expect(res.isPaused()).toBe(false);
    more();
    expect((await it.next()).value).toEqual(exit);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('gives the events that came before a broken connection, then the break', async () => {
    const { events } = await answerWith((r) => {
      startNdjson(r, 'j');
      r.write(`${JSON.stringify(stdout('a'))}\n${JSON.stringify(stdout('b'))}\n{"type":"std`);
      setTimeout(() => r.socket?.destroy(), 20);
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const ev of events) seen.push(ev.type === 'stdout' ? ev.data : ev.type);
      })(),
    ).rejects.toMatchObject({ code: 'sandbox_unavailable' });
    expect(seen).toEqual(['a', 'b']);
  });

  it('reads a last line without its newline, and lets an answer past its exit end by itself', async () => {
    const { res, events, pastExit } = await answerWith((r) => {
      startNdjson(r, 'j');
      r.end(`${JSON.stringify(stdout('x'))}\n${JSON.stringify(exit)}`);
    });
    const seen: RunEvent[] = [];
    for await (const ev of events) seen.push(ev);
    expect(seen).toEqual([stdout('x'), exit]);
    expect(pastExit.has(res)).toBe(true);
    expect(res.destroyed && !res.complete).toBe(false);
  });

  it('closes an answer the caller left before its exit', async () => {
    const { res, events } = await answerWith((r) => {
      startNdjson(r, 'j');
      writeEvent(r, stdout('x'));
    });
    for await (const ev of events) if (ev.type === 'stdout') break;
    expect(res.destroyed).toBe(true);
  });

  it('can be read once', async () => {
    const { events } = await answerWith((r) => {
      startNdjson(r, 'j');
      writeEvent(r, exit);
      r.end();
    });
    for await (const _ of events);
    expect(() => events[Symbol.asyncIterator]()).toThrow(/once/);
  });
});

describe('readRunEvents, a connection closed after the whole answer', () => {
  it('still gives every event of it to a caller that takes them slowly', async () => {
    const { events } = await answerWith((r) => {
      r.setHeader('Connection', 'close');
      startNdjson(r, 'j');
      r.end(`${JSON.stringify(stdout('a'))}\n${JSON.stringify(stdout('b'))}\n${JSON.stringify(exit)}\n`);
    });
    const seen: string[] = [];
    for await (const ev of events) {
      seen.push(ev.type === 'stdout' ? ev.data : ev.type);
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(seen).toEqual(['a', 'b', 'exit']);
  });
});
