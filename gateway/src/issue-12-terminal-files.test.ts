/**
 * Issue 12 with issue 11: files the room's shell writes go into the room like
 * a run's (the file tree reflects what the shell creates), while the session
 * has no run record; when the session ends the room is released.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { ROOM_DOC } from '@codecell/protocol';
import type { ServerResponse } from 'node:http';
import { trpcClient } from './test/clients.js';
import { joinRoom, waitUntil } from './test/collabClients.js';
import { startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler } from './test/fakeSandboxServer.js';
import { openPage } from './test/pageClient.js';
import { TestGateways } from './test/testGateway.js';

const gateways = new TestGateways();
afterEach(() => gateways.cleanup());

/** A sandbox whose terminal session writes a file, then waits to be killed. */
function shellThatWrites(): FakeHandler {
  const open = new Map<string, ServerResponse>();
  return (req, res) => {
    if (req.path === '/terminal') {
      startNdjson(res, 'sh1');
      writeEvent(res, { type: 'start', jobId: 'sh1', vmId: 'vm', at: 1 });
      writeEvent(res, { type: 'stdout', data: 'user@sandbox:~$ ' });
      writeEvent(res, { type: 'file', path: 'made-by-shell.txt', size: 6, encoding: 'utf8', content: 'hello\n', truncated: false });
      open.set('sh1', res);
      return;
    }
    if (req.path === '/run/sh1/kill') {
      open.get('sh1')?.end(`${JSON.stringify({ type: 'exit', code: null, signal: 'SIGKILL', status: 'killed', cpuMs: 1, wallMs: 1, maxRssKb: 1 })}\n`);
      open.delete('sh1');
    }
    res.writeHead(202, { 'Content-Type': 'application/json' }).end('{}');
  };
}

describe('issue 12: what the shell writes reaches the room', () => {
  it('puts the shell’s file into the room, without a run record', async () => {
    const { gw } = await gateways.start({ handler: shellThatWrites() });
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const ada = joinRoom(gw.url, roomId);
    gateways.defer(() => ada.destroy());
    await ada.synced();
    const page = openPage(gw.url);
    gateways.defer(() => page.ws.close());
    page.send({ type: 'terminal', ref: 't', roomId, program: 'bash', size: { cols: 80, rows: 24 } });
    const accepted = await page.waitFor((m) => m.type === 'accepted' && m.ref === 't');
    const files = ada.doc.getMap<unknown>(ROOM_DOC.files);
    await waitUntil(() => files.has('made-by-shell.txt'), { what: "the shell's file in the room" });
    expect((files.get('made-by-shell.txt') as Y.Text).toJSON()).toBe('hello\n');
    expect(ada.doc.getArray(ROOM_DOC.runs).length).toBe(0);
    // The stream carries the file event without its content, like a run's.
    const jobId = accepted.type === 'accepted' ? accepted.jobId : '';
    const fileEvent = page.jobMessages(jobId).find((m) => m.type === 'event' && m.event.type === 'file');
    expect(fileEvent).toMatchObject({ event: { type: 'file', path: 'made-by-shell.txt', content: '' } });
    page.send({ type: 'stop', jobId });
    await page.waitFor((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'end');
  });
});

describe('issue 12: /metrics counts what is in progress', () => {
  /** The shell above, and a run that waits to be killed. */
  function shellAndLongRun(): FakeHandler {
    const shell = shellThatWrites();
    let run: ServerResponse | null = null;
    return (req, res) => {
      if (req.path === '/run') {
        startNdjson(res, 'r1');
        writeEvent(res, { type: 'start', jobId: 'r1', vmId: 'vm', at: 1 });
        run = res;
        return;
      }
      if (req.path === '/run/r1/kill') {
        run?.end(`${JSON.stringify({ type: 'exit', code: null, signal: 'SIGKILL', status: 'killed', cpuMs: 1, wallMs: 1, maxRssKb: 1 })}\n`);
        run = null;
        return void res.writeHead(202, { 'Content-Type': 'application/json' }).end('{}');
      }
      return shell(req, res);
    };
  }
  const gauges = async (url: string): Promise<string> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return ['codecell_runs_in_progress', 'codecell_terminal_sessions'].map((name) => new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 'missing').join(' ');
  };

  it('reports the runs and terminal sessions this gateway has open, and drops them when they end', async () => {
    const { gw } = await gateways.start({ handler: shellAndLongRun() });
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    expect(await gauges(gw.url)).toBe('0 0');
    const page = openPage(gw.url);
    gateways.defer(() => page.ws.close());
    page.send({ type: 'terminal', ref: 't', roomId, program: 'bash', size: { cols: 80, rows: 24 } });
    const shell = await page.waitFor((m) => m.type === 'accepted' && m.ref === 't');
    page.send({ type: 'run', ref: 'r', input: { roomId, files: [{ path: 'main.py', content: 'input()' }], entry: 'main.py' } });
    const run = await page.waitFor((m) => m.type === 'accepted' && m.ref === 'r');
    const [shellId, runId] = [shell, run].map((m) => (m.type === 'accepted' ? m.jobId : ''));
    await page.waitFor((m) => m.type === 'job' && m.jobId === runId && m.message.type === 'event' && m.message.event.type === 'start');
    expect(await gauges(gw.url)).toBe('1 1');
    for (const jobId of [shellId, runId]) {
      page.send({ type: 'stop', jobId: jobId ?? '' });
      await page.waitFor((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'end');
    }
    // The end reaches the page and the gateway's follower in the same tick; read until it was counted.
    let last = await gauges(gw.url);
    for (let i = 0; i < 50 && last !== '0 0'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      last = await gauges(gw.url);
    }
    expect(last).toBe('0 0');
  });
});
