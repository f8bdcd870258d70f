/**
 * Issue 12: the page's `ws /stream` socket over the real gateway (fake
 * sandbox): a run started with one message streams back on the same socket;
 * keystrokes and resizes reach the sandbox in order; the room's terminal
 * sessions are shared (one per program) and followed; roles decide who may
 * watch, type and open (SPEC S10-S14).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StreamServerMessage } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import { trpcClient } from './test/clients.js';
import { startFakeSandboxServer } from './test/fakeSandboxServer.js';
import type { FakeSandboxServer } from './test/fakeSandboxServer.js';
import { createAdmin, signUp, startHosted } from './test/hosted.js';
import type { Hosted } from './test/hosted.js';
import { openPage } from './test/pageClient.js';
import type { PageClient } from './test/pageClient.js';
import { runningSandbox } from './test/roleActions.js';
import type { TestUser } from './test/sessions.js';
import { testUser } from './test/sessions.js';

const files = [{ path: 'main.py', content: 'print(1)' }];
const size = { cols: 100, rows: 30 };
const accepted = (ref: string) => (m: StreamServerMessage): m is Extract<StreamServerMessage, { type: 'accepted' }> => m.type === 'accepted' && m.ref === ref;
const refused = (m: StreamServerMessage): m is Extract<StreamServerMessage, { type: 'refused' }> => m.type === 'refused';
const ended = (jobId: string) => (m: StreamServerMessage) => m.type === 'job' && m.jobId === jobId && m.message.type === 'end';

describe('ws /stream in AUTH_MODE=none', () => {
  let fake: FakeSandboxServer;
  let url: string;
  let close: () => Promise<void>;
  const pages: PageClient[] = [];
  const page = (): PageClient => {
    const p = openPage(url);
    pages.push(p);
    return p;
  };

  beforeAll(async () => {
    fake = await startFakeSandboxServer(runningSandbox());
    const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', LOG_LEVEL: 'silent' }), silentLogger);
    url = gw.url;
    close = async () => (await gw.close(), await fake.close());
  });
  afterEach(() => {
    for (const p of pages.splice(0)) p.ws.close();
  });
  afterAll(() => close());

  it('starts a run with one message and streams its messages back on the same socket', async () => {
    const p = page();
    await p.waitFor((m) => m.type === 'ready');
    p.send({ type: 'run', ref: 'r1', input: { roomId: 'room-a', files, tty: size } });
    const { jobId } = await p.waitFor(accepted('r1'));
    await p.waitFor((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'event' && m.message.event.type === 'start');
    expect(p.jobMessages(jobId).map((m) => m.type)).toEqual(['hello', 'queued', 'event']);
    const sent = fake.requests.find((r) => r.path === '/run');
    expect(sent?.body).toMatchObject({ sessionId: 'room-a', tty: size });
    // The same run can be stopped from the socket; its end arrives there too.
    p.send({ type: 'stop', jobId });
    await p.waitFor(ended(jobId));
  });

  it('forwards keystrokes in order and resizes to the sandbox', async () => {
    const p = page();
    p.send({ type: 'run', ref: 'r', input: { roomId: 'room-b', files, tty: true } });
    const { jobId } = await p.waitFor(accepted('r'));
    await p.waitFor((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'event');
    const keys = 'hello, world\r'.split('');
    for (const data of keys) p.send({ type: 'stdin', jobId, data });
    p.send({ type: 'resize', jobId, cols: 120, rows: 40 });
    const sandboxJob = fake.requests.filter((r) => r.path === '/run').length;
    const stdinPath = `/run/sbx-${sandboxJob}/stdin`;
    await expect.poll(() => fake.requests.filter((r) => r.path === stdinPath).length, { timeout: 5000 }).toBe(keys.length);
    expect(fake.requests.filter((r) => r.path === stdinPath).map((r) => (r.body as { data: string }).data).join('')).toBe(keys.join(''));
    await expect.poll(() => fake.requests.find((r) => r.path === `/run/sbx-${sandboxJob}/resize`)?.body, { timeout: 5000 }).toEqual({ cols: 120, rows: 40 });
    p.send({ type: 'stop', jobId });
    await p.waitFor(ended(jobId));
  });

  it("shares the room's terminal session of each program, and tells followers what is open", async () => {
    const ada = page();
    const bob = page();
    bob.send({ type: 'terminals', roomId: 'room-t' });
    await bob.waitFor((m) => m.type === 'terminals' && m.open.length === 0);
    ada.send({ type: 'terminal', ref: 't1', roomId: 'room-t', program: 'bash', size });
    const shell = await ada.waitFor(accepted('t1'));
    const listed = await bob.waitFor((m) => m.type === 'terminals' && m.open.length === 1);
    expect(listed).toMatchObject({ open: [{ program: 'bash', jobId: shell.jobId }] });
    // Bob opening the room's shell joins Ada's.
    bob.send({ type: 'terminal', ref: 't2', roomId: 'room-t', program: 'bash', size });
    expect((await bob.waitFor(accepted('t2'))).jobId).toBe(shell.jobId);
    expect(fake.requests.filter((r) => r.path === '/terminal').map((r) => r.body)).toEqual([{ sessionId: 'room-t', program: 'bash', size }]);
    // A REPL is another session of the same room.
    ada.send({ type: 'terminal', ref: 't3', roomId: 'room-t', program: 'python', size });
    const repl = await ada.waitFor(accepted('t3'));
    expect(repl.jobId).not.toBe(shell.jobId);
    ada.send({ type: 'stop', jobId: shell.jobId });
    await bob.waitFor(ended(shell.jobId));
    await bob.waitFor((m) => m.type === 'terminals' && m.open.length === 1 && m.open[0]?.program === 'python');
    // Terminal sessions are not runs of the room: runCode still works, and the room's run list does not show them.
    const run = await trpcClient(url).runCode.mutate({ roomId: 'room-t', files });
    expect(run.position).toBe(0);
    ada.send({ type: 'stop', jobId: repl.jobId });
    ada.send({ type: 'stop', jobId: run.jobId });
  });

  it('refuses bad messages with a code and goes on', async () => {
    const p = page();
    await p.opened;
    p.ws.send('{not json');
    expect(await p.waitFor(refused)).toMatchObject({ code: 'bad_json' });
    p.ws.send(JSON.stringify({ type: 'resize', jobId: 'x', cols: 0, rows: 1 }));
    await p.waitFor((m) => m.type === 'refused' && m.code === 'invalid_request' && /cols/.test(m.message));
    p.send({ type: 'run', ref: 'bad', input: { files: [] } });
    await p.waitFor((m) => m.type === 'refused' && m.ref === 'bad' && m.code === 'invalid_request');
    p.send({ type: 'watch', jobId: 'nope' });
    await p.waitFor((m) => m.type === 'refused' && m.jobId === 'nope' && m.code === 'not_found');
    p.send({ type: 'stdin', jobId: 'nope', data: 'x' });
    await p.waitFor((m) => m.type === 'refused' && m.jobId === 'nope' && m.message.includes('nope'));
  });
});

describe('ws /stream roles (hosted)', () => {
  let h: Hosted;
  let owner: TestUser;
  let viewer: TestUser;
  let outsider: TestUser;
  let roomId: string;
  const pages: PageClient[] = [];
  const pageOf = (u: TestUser | null): PageClient => {
    const p = openPage(h.gw.url, u?.headers() ?? {});
    pages.push(p);
    return p;
  };

  beforeAll(async () => {
    h = await startHosted({ handler: runningSandbox(), env: { QUOTA_CONCURRENT_RUNS: '0', QUOTA_RUNS_PER_MINUTE: '0' } });
    owner = await createAdmin(h.gw);
    roomId = (await owner.trpc.createRoom.mutate({ title: 'Roles' })).roomId;
    viewer = testUser(h.gw.url);
    const link = await owner.trpc.rooms.createLink.mutate({ roomId, role: 'viewer', allowGuests: true });
    await viewer.trpc.rooms.redeemLink.mutate({ token: link.token, displayName: 'Vera' });
    outsider = await signUp(h.gw, owner, { username: 'outsider' });
  });
  afterEach(() => {
    for (const p of pages.splice(0)) p.ws.close();
  });
  afterAll(() => h.close());

  it('a viewer watches the shell but may not type, resize, open it or run', async () => {
    const o = pageOf(owner);
    o.send({ type: 'terminal', ref: 'sh', roomId, program: 'bash', size });
    const { jobId } = await o.waitFor(accepted('sh'));
    const v = pageOf(viewer);
    v.send({ type: 'terminals', roomId });
    await v.waitFor((m) => m.type === 'terminals' && m.open[0]?.jobId === jobId);
    v.send({ type: 'watch', jobId });
    await v.waitFor((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'hello');
    v.send({ type: 'stdin', jobId, data: 'rm -rf .\r' });
    await v.waitFor((m) => m.type === 'refused' && m.jobId === jobId && m.code === 'forbidden');
    v.send({ type: 'resize', jobId, cols: 10, rows: 10 });
    v.send({ type: 'terminal', ref: 'v-sh', roomId, program: 'python', size });
    v.send({ type: 'run', ref: 'v-run', input: { roomId, files } });
    await v.waitFor((m) => m.type === 'refused' && m.ref === 'v-sh' && m.code === 'forbidden');
    await v.waitFor((m) => m.type === 'refused' && m.ref === 'v-run' && m.code === 'forbidden');
    expect(v.messages.filter((m) => m.type === 'refused' && m.jobId === jobId).map((m) => (m as { code: string }).code)).toEqual(['forbidden', 'forbidden']);
    expect(h.fake.requests.filter((r) => r.path.endsWith('/stdin') || r.path.endsWith('/resize'))).toEqual([]);
    o.send({ type: 'stop', jobId });
    await o.waitFor(ended(jobId));
  });

  it('a caller without a session, or not a member, cannot see the room', async () => {
    const anon = pageOf(null);
    anon.send({ type: 'terminals', roomId });
    await anon.waitFor((m) => m.type === 'refused' && m.code === 'unauthorized');
    const stranger = pageOf(outsider);
    stranger.send({ type: 'terminal', ref: 'x', roomId, program: 'bash', size });
    await stranger.waitFor((m) => m.type === 'refused' && m.ref === 'x' && m.code === 'not_found');
  });
});
