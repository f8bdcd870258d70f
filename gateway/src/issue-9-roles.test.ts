/**
 * Issue 9: the role matrix over the real gateway (hosted, AUTH_MODE=local, a
 * fake sandbox whose runs keep running). Every role, and no session, a
 * non-member, an expired and a revoked link, times every action: read the
 * room, edit it, run, type stdin, stop, read a run's stream, share, delete.
 * Each cell is the real outcome: `ok`, `read_only` or the exact error code.
 * Then: revoking a link, removing a member and changing a role act on live
 * connections at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { ROOM_DOC } from '@codecell/protocol';
import { waitUntil } from './test/collabClients.js';
import { createAdmin, signUp, startHosted } from './test/hosted.js';
import type { Hosted } from './test/hosted.js';
import { RoleActions, runningSandbox } from './test/roleActions.js';
import { outcome, testUser } from './test/sessions.js';
import type { TestUser } from './test/sessions.js';

const HOUR = 3_600_000;
const ACTIONS = ['read', 'edit', 'run', 'stdin', 'stop', 'stream', 'share', 'delete'] as const;
type Row = Record<(typeof ACTIONS)[number], string>;
const row = (...cells: string[]): Row => Object.fromEntries(ACTIONS.map((a, i) => [a, cells[i] ?? ''])) as Row;
const all = (code: string): Row => row(...ACTIONS.map(() => code));

/** What each caller may do: the contract of DESIGN §6 / SPEC A1-A4. */
const EXPECTED: Record<string, Row> = {
  owner: row('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'),
  editor: row('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'forbidden', 'forbidden'),
  runner: row('ok', 'read_only', 'ok', 'ok', 'ok', 'ok', 'forbidden', 'forbidden'),
  'viewer (guest)': row('ok', 'read_only', 'forbidden', 'forbidden', 'forbidden', 'ok', 'forbidden', 'forbidden'),
  'no session': all('unauthorized'),
  'signed in, not a member': all('not_found'),
  'expired link': all('link_invalid'),
  'revoked link': all('link_invalid'),
};

let h: Hosted;
let clock = Date.parse('2030-01-01T00:00:00Z');
const cleanups: Array<() => void> = [];
let owner: TestUser;
let roomId: string;
const callers = new Map<string, TestUser | null>();

beforeAll(async () => {
  h = await startHosted({ handler: runningSandbox(), env: { MAX_QUEUED_RUNS: '200', QUOTA_CONCURRENT_RUNS: '0', QUOTA_RUNS_PER_MINUTE: '0' }, overrides: { now: () => clock, sandboxSlots: 50 } });
  owner = await createAdmin(h.gw, { displayName: 'Olive Owner' });
  roomId = (await owner.trpc.createRoom.mutate({ title: 'Matrix' })).roomId;
  const link = (role: 'editor' | 'runner' | 'viewer', o: { expiresInHours?: number; allowGuests?: boolean } = {}) => owner.trpc.rooms.createLink.mutate({ roomId, role, ...o });
  const member = async (name: string, token: string): Promise<TestUser> => {
    const u = await signUp(h.gw, owner, { username: name });
    await u.trpc.rooms.redeemLink.mutate({ token });
    return u;
  };
  callers.set('owner', owner);
  callers.set('editor', await member('edna', (await link('editor')).token));
  callers.set('runner', await member('ravi', (await link('runner')).token));
  const guest = testUser(h.gw.url);
  await guest.trpc.rooms.redeemLink.mutate({ token: (await link('viewer', { allowGuests: true })).token, displayName: 'Vera Guest' });
  callers.set('viewer (guest)', guest);
  callers.set('no session', null);
  callers.set('signed in, not a member', await signUp(h.gw, owner, { username: 'nora' }));
  callers.set('expired link', await member('exie', (await link('editor', { expiresInHours: 1 })).token));
  const revoked = await link('editor');
  callers.set('revoked link', await member('rex', revoked.token));
  await owner.trpc.rooms.revokeLink.mutate({ roomId, linkId: revoked.linkId });
  clock += 2 * HOUR;
});

afterAll(async () => {
  for (const c of cleanups.splice(0)) c();
  await h.close();
});

describe('issue 9: role matrix (every caller × every action, on the server)', () => {
  it('gives each caller exactly the outcomes of their role', async () => {
    const seen: Record<string, Row> = {};
    // Owner last: its delete ends the room for everyone.
    for (const name of [...callers.keys()].filter((n) => n !== 'owner').concat('owner')) {
      const user = callers.get(name) ?? null;
      const act = new RoleActions(h.gw, user, cleanups);
      const { jobId } = await owner.trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'input()' }] });
      const cells: Partial<Row> = {};
      cells.read = await act.read(roomId);
      cells.edit = await act.edit(roomId);
      cells.run = await act.run(roomId);
      cells.stdin = await act.stdin(jobId);
      cells.stream = await act.stream(jobId);
      cells.stop = await act.stop(jobId);
      cells.share = await act.share(roomId);
      cells.delete = await act.delete(roomId);
      seen[name] = row(...ACTIONS.map((a) => cells[a] ?? '?'));
    }
    expect(seen).toEqual(EXPECTED);
    expect(await outcome(owner.trpc.getRoom.query({ roomId }))).toBe('not_found');
  });
});

describe('issue 9: access changes reach live connections', () => {
  it('revoking a link disconnects who came with it (collab and stream) with a clear reason; removing a member does too', async () => {
    const { roomId: room } = await owner.trpc.createRoom.mutate({});
    const viewerLink = await owner.trpc.rooms.createLink.mutate({ roomId: room, role: 'viewer' });
    const viewer = await signUp(h.gw, owner, { username: 'vic' });
    await viewer.trpc.rooms.redeemLink.mutate({ token: viewerLink.token });
    const runnerLink = await owner.trpc.rooms.createLink.mutate({ roomId: room, role: 'runner' });
    const runner = await signUp(h.gw, owner, { username: 'rosa' });
    await runner.trpc.rooms.redeemLink.mutate({ token: runnerLink.token });
    const viewing = viewer.join(room);
    const running = runner.join(room);
    cleanups.push(() => viewing.destroy(), () => running.destroy());
    await Promise.all([viewing.synced(), running.synced()]);
    const { jobId } = await owner.trpc.runCode.mutate({ roomId: room, files: [{ path: 'main.py', content: '' }] });
    const stream = viewer.stream(jobId);
    cleanups.push(() => stream.ws.close());
    await stream.waitFor((m) => m.type === 'hello');

    await owner.trpc.rooms.revokeLink.mutate({ roomId: room, linkId: viewerLink.linkId });
    await waitUntil(() => viewing.closes.some((r) => r.startsWith('link_invalid: the share link you joined with was revoked')), { what: 'the viewer to be told' });
    expect((await stream.closed).reason).toMatch(/^link_invalid: the share link you joined with was revoked/);
    // Joining again does not help, and the runner was not touched.
    const again = viewer.join(room);
    cleanups.push(() => again.destroy());
    await waitUntil(() => again.refusals.some((r) => r.startsWith('link_invalid: ')), { what: 'the viewer to be refused on rejoining' });
    expect(running.closes).toEqual([]);
    expect((await owner.trpc.rooms.members.query({ roomId: room })).map((m) => [m.username, m.role])).toEqual([
      ['admin', 'owner'],
      ['rosa', 'runner'],
    ]);

    const rosaId = (await runner.trpc.auth.me.query()).user?.userId ?? '';
    await owner.trpc.rooms.removeMember.mutate({ roomId: room, userId: rosaId });
    await waitUntil(() => running.closes.some((r) => r.startsWith('forbidden: the room\'s owner removed you')), { what: 'the runner to be told' });
    expect(await outcome(runner.trpc.runCode.mutate({ roomId: room, files: [{ path: 'main.py', content: '' }] }))).toBe('not_found');
  });

  it('changing a role reconnects the person with the new rights: a runner made editor can edit at once', async () => {
    const { roomId: room } = await owner.trpc.createRoom.mutate({});
    const link = await owner.trpc.rooms.createLink.mutate({ roomId: room, role: 'runner' });
    const pat = await signUp(h.gw, owner, { username: 'pat', displayName: 'Pat' });
    await pat.trpc.rooms.redeemLink.mutate({ token: link.token });
    expect(await new RoleActions(h.gw, pat, cleanups).edit(room)).toBe('read_only');
    const patId = (await pat.trpc.auth.me.query()).user?.userId ?? '';
    await owner.trpc.rooms.setRole.mutate({ roomId: room, userId: patId, role: 'editor' });
    expect(await new RoleActions(h.gw, pat, cleanups).edit(room)).toBe('ok');
    // The role is now Pat's own: revoking the link they came with no longer matters.
    await owner.trpc.rooms.revokeLink.mutate({ roomId: room, linkId: link.linkId });
    expect((await pat.trpc.getRoom.query({ roomId: room })).role).toBe('editor');
    expect(await outcome(owner.trpc.rooms.setRole.mutate({ roomId: room, userId: (await owner.trpc.auth.me.query()).user?.userId ?? '', role: 'viewer' }))).toBe('invalid_request');
  });

  it('"My rooms" lists rooms owned and joined (not through dead links), newest first, with roles', async () => {
    const mia = await signUp(h.gw, owner, { username: 'mia', displayName: 'Mia' });
    const own = await mia.trpc.createRoom.mutate({ title: 'Mine' });
    clock += 1000;
    const { roomId: shared } = await owner.trpc.createRoom.mutate({ title: 'Shared with Mia' });
    const link = await owner.trpc.rooms.createLink.mutate({ roomId: shared, role: 'runner' });
    await mia.trpc.rooms.redeemLink.mutate({ token: link.token });
    expect((await mia.trpc.rooms.mine.query()).map((r) => [r.title, r.role, r.owner?.displayName])).toEqual([
      ['Shared with Mia', 'runner', 'Olive Owner'],
      ['Mine', 'owner', 'Mia'],
    ]);
    await owner.trpc.rooms.revokeLink.mutate({ roomId: shared, linkId: link.linkId });
    expect((await mia.trpc.rooms.mine.query()).map((r) => r.roomId)).toEqual([own.roomId]);
    await mia.trpc.rooms.delete.mutate({ roomId: own.roomId });
    expect(await mia.trpc.rooms.mine.query()).toEqual([]);
    expect(await outcome(mia.trpc.getRoom.query({ roomId: own.roomId }))).toBe('not_found');
  });

  it('names people in awareness by their account, whatever their client claims', async () => {
    const { roomId: room } = await owner.trpc.createRoom.mutate({});
    const link = await owner.trpc.rooms.createLink.mutate({ roomId: room, role: 'viewer', allowGuests: true });
    const guest = testUser(h.gw.url);
    await guest.trpc.rooms.redeemLink.mutate({ token: link.token, displayName: 'Gus' });
    const a = owner.join(room);
    const g = guest.join(room);
    cleanups.push(() => a.destroy(), () => g.destroy());
    await Promise.all([a.synced(), g.synced()]);
    g.provider.awareness?.setLocalStateField('user', { name: 'Olive Owner', color: '#e5484d' });
    await waitUntil(() => [...(a.provider.awareness?.getStates().values() ?? [])].some((s) => (s as { user?: { name?: string } }).user?.name === 'Gus'), { what: 'the guest to appear as Gus' });
    const text = a.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.toJSON() ?? '';
    expect(text.length).toBeGreaterThan(0);
  });
});
