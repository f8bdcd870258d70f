/**
 * The contract every {@link GatewayStore} implementation passes (SQLite now,
 * PostgreSQL later): call {@link describeGatewayStoreContract} from the
 * implementation's test file with a fixture that makes a fresh, empty store.
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { GatewayStore, SubmissionRow, UserRow } from './GatewayStore.js';

/** A fresh store, a way to put bytes in a room's content log, and its teardown. */
export interface StoreFixture {
  readonly store: GatewayStore;
  /** Appends `bytes` bytes of content to the room's log (what storage quotas count). */
  readonly appendRoomContent: (roomId: string, bytes: number) => Promise<void>;
  readonly close: () => Promise<void>;
}

const user = (id: string, extra: Partial<UserRow> = {}): UserRow => ({
  id,
  kind: 'user',
  username: id,
  displayName: `User ${id}`,
  passwordHash: null,
  admin: false,
  oidcIssuer: null,
  oidcSubject: null,
  createdAt: 1,
  ...extra,
});

/** Registers the suite under `name`. */
export function describeGatewayStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  const withStore = (fn: (f: StoreFixture) => Promise<void>) => async () => {
    const f = await open();
    try {
      await fn(f);
    } finally {
      await f.close();
    }
  };

  describe(`GatewayStore contract: ${name}`, () => {
    it('users: unique usernames (case-insensitive lookup) and OIDC subjects; admins counted', withStore(async ({ store }) => {
      await store.createUser(user('ada', { admin: true }));
      await store.createUser(user('g1', { kind: 'guest', username: null }));
      await store.createUser(user('g2', { kind: 'guest', username: null }));
      expect(await store.findUserByUsername('ADA')).toMatchObject({ id: 'ada', admin: true });
      await expect(store.createUser(user('ada2', { username: 'ada' }))).rejects.toMatchObject({ code: 'already_exists' });
      await store.createUser(user('o1', { username: null, oidcIssuer: 'https://idp', oidcSubject: 's1' }));
      await expect(store.createUser(user('o2', { username: null, oidcIssuer: 'https://idp', oidcSubject: 's1' }))).rejects.toMatchObject({ code: 'already_exists' });
      expect((await store.findUserByOidc('https://idp', 's1'))?.id).toBe('o1');
      expect(await store.getUser('nope')).toBeNull();
      expect(await store.countAdmins()).toBe(1);
    }));

    it('sessions: found with their account until they expire or are deleted', withStore(async ({ store }) => {
      await store.createUser(user('ada'));
      await store.createSession({ tokenHash: 'h1', userId: 'ada', createdAt: 0, expiresAt: 100 });
      await store.createSession({ tokenHash: 'h2', userId: 'ada', createdAt: 0, expiresAt: 50 });
      expect(await store.getSession('h1', 99)).toMatchObject({ session: { userId: 'ada' }, user: { id: 'ada' } });
      expect(await store.getSession('h1', 100)).toBeNull();
      expect(await store.deleteExpiredSessions(60)).toBe(1);
      await store.deleteSession('h1');
      expect(await store.getSession('h1', 1)).toBeNull();
    }));

    it('API tokens: usable until revoked or expired, marked used, listed without revoked ones', withStore(async ({ store }) => {
      await store.createUser(user('ada'));
      await store.createUser(user('bob'));
      const base = { userId: 'ada', createdAt: 1, lastUsedAt: null, revokedAt: null };
      await store.createApiToken({ ...base, id: 't1', name: 'ci', tokenHash: 'th1', expiresAt: null });
      await store.createApiToken({ ...base, id: 't2', name: 'old', tokenHash: 'th2', expiresAt: 10 });
      expect(await store.useApiToken('th1', 5)).toMatchObject({ token: { id: 't1', lastUsedAt: 5 }, user: { id: 'ada' } });
      expect(await store.useApiToken('th2', 10)).toBeNull();
      expect(await store.revokeApiToken({ userId: 'bob', id: 't1', now: 6 })).toBe(false);
      expect(await store.revokeApiToken({ userId: 'ada', id: 't1', now: 6 })).toBe(true);
      expect(await store.revokeApiToken({ userId: 'ada', id: 't1', now: 7 })).toBe(false);
      expect(await store.useApiToken('th1', 8)).toBeNull();
      expect((await store.listApiTokens('ada')).map((t) => t.id)).toEqual(['t2']);
    }));

    it('invites: consumed once, never after they expire', withStore(async ({ store }) => {
      await store.createInvite({ id: 'i1', tokenHash: 'ih1', createdBy: 'ada', createdAt: 0, expiresAt: 100, usedAt: null });
      await store.createInvite({ id: 'i2', tokenHash: 'ih2', createdBy: 'ada', createdAt: 0, expiresAt: 10, usedAt: null });
      const [a, b] = await Promise.all([store.consumeInvite('ih1', 5), store.consumeInvite('ih1', 5)]);
      expect([a?.id ?? null, b?.id ?? null].sort()).toEqual(['i1', null].sort());
      expect(await store.consumeInvite('ih2', 10)).toBeNull();
      expect(await store.consumeInvite('missing', 1)).toBeNull();
    }));

    it('rooms: unique ids, owners, "my rooms" with memberships, adoption of ownerless rooms, deletion', withStore(async ({ store, appendRoomContent }) => {
      await store.createUser(user('ada', { admin: true }));
      await store.createUser(user('bob'));
      expect(await store.createRoom({ roomId: 'r1', title: 'One', ownerId: 'ada', createdAt: 1 })).toBe(true);
      expect(await store.createRoom({ roomId: 'r1', title: 'Again', ownerId: 'bob', createdAt: 2 })).toBe(false);
      await store.createRoom({ roomId: 'go', title: 'Go', ownerId: 'bob', createdAt: 1, language: 'go' });
      expect(await store.getRoom('go')).toEqual({ roomId: 'go', title: 'Go', ownerId: 'bob', createdAt: 1, language: 'go' });
      expect((await store.getRoom('r1'))?.language ?? null).toBeNull();
      await store.deleteRoom('go');
      await store.createRoom({ roomId: 'r2', title: 'Two', ownerId: 'bob', createdAt: 2 });
      await store.createRoom({ roomId: 'old', title: 'Old', ownerId: null, createdAt: 0 });
      await store.createRoom({ roomId: 'local', title: 'Local', ownerId: 'local', createdAt: 0 });
      await store.putMembership({ roomId: 'r2', userId: 'ada', role: 'viewer', viaLinkId: 'l1', createdAt: 3 });
      const mine = await store.listRoomsFor('ada');
      expect(mine.map((r) => [r.room.roomId, r.owner?.id ?? null, r.membership?.role ?? null])).toEqual([
        ['r2', 'bob', 'viewer'],
        ['r1', 'ada', null],
      ]);
      expect(await store.countRoomsOwnedBy('ada')).toBe(1);
      expect(await store.adoptOwnerlessRooms({ userId: 'ada', previousOwners: ['local'] })).toBe(2);
      expect(await store.countRoomsOwnedBy('ada')).toBe(3);
      await appendRoomContent('r1', 1000);
      await appendRoomContent('old', 24);
      await appendRoomContent('r2', 5000);
      expect(await store.storageBytesOwnedBy('ada')).toBe(1024);
      await store.createLink({ id: 'l1', roomId: 'r2', token: 'tok', role: 'viewer', allowGuests: false, createdBy: 'bob', createdAt: 3, expiresAt: null, revokedAt: null });
      await store.deleteRoom('r2');
      expect(await store.getRoom('r2')).toBeNull();
      expect(await store.getMembership('r2', 'ada')).toBeNull();
      expect(await store.getLink('l1')).toBeNull();
    }));

    it('memberships: one per person and room, replaced in place, listed with accounts', withStore(async ({ store }) => {
      await store.createUser(user('ada'));
      await store.createUser(user('g', { kind: 'guest', username: null, displayName: 'Guest' }));
      await store.createRoom({ roomId: 'r', title: 'R', ownerId: 'ada', createdAt: 1 });
      await store.putMembership({ roomId: 'r', userId: 'g', role: 'viewer', viaLinkId: 'l1', createdAt: 2 });
      await store.putMembership({ roomId: 'r', userId: 'g', role: 'editor', viaLinkId: null, createdAt: 3 });
      expect(await store.getMembership('r', 'g')).toMatchObject({ role: 'editor', viaLinkId: null });
      expect((await store.listMembers('r')).map((m) => [m.user.displayName, m.membership.role])).toEqual([['Guest', 'editor']]);
      expect(await store.deleteMembership('r', 'g')).toBe(true);
      expect(await store.deleteMembership('r', 'g')).toBe(false);
    }));

    it('share links: found by token, listed until revoked, members who came through one', withStore(async ({ store }) => {
      await store.createUser(user('g', { kind: 'guest', username: null }));
      const link = { roomId: 'r', role: 'runner' as const, allowGuests: true, createdBy: 'ada', createdAt: 1, expiresAt: 99, revokedAt: null };
      await store.createLink({ ...link, id: 'l1', token: 'tok1' });
      await store.createLink({ ...link, id: 'l2', token: 'tok2', createdAt: 2 });
      await store.putMembership({ roomId: 'r', userId: 'g', role: 'runner', viaLinkId: 'l1', createdAt: 2 });
      expect(await store.findLinkByToken('tok1')).toMatchObject({ id: 'l1', role: 'runner', allowGuests: true, expiresAt: 99 });
      expect(await store.membersViaLink('l1')).toEqual(['g']);
      expect(await store.revokeLink({ roomId: 'other', id: 'l1', now: 5 })).toBe(false);
      expect(await store.revokeLink({ roomId: 'r', id: 'l1', now: 5 })).toBe(true);
      expect((await store.getLink('l1'))?.revokedAt).toBe(5);
      expect((await store.listLinks('r')).map((l) => l.id)).toEqual(['l2']);
    }));

    it('quota counters: consumption never passes the limit, even when concurrent; charges add; old windows pruned', withStore(async ({ store }) => {
      const w = { key: 'user:ada', kind: 'runs_per_minute', windowStart: 60_000 };
      const results = await Promise.all(Array.from({ length: 12 }, () => store.consumeQuota({ ...w, amount: 1, limit: 5 })));
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      expect(await store.getQuota(w)).toBe(5);
      expect(await store.getQuota({ ...w, key: 'user:bob' })).toBe(0);
      const cpu = { key: 'user:ada', kind: 'cpu_ms', windowStart: 0 };
      await store.addQuota({ ...cpu, amount: 1.5 });
      expect(await store.addQuota({ ...cpu, amount: 2 })).toBe(3.5);
      await store.pruneQuotas(1);
      expect(await store.getQuota(cpu)).toBe(0);
      expect(await store.getQuota(w)).toBe(5);
    }));

    it('Judge0 submissions (issue 13): stored all or none, found until they expire, updated, unfinished listed, expired deleted', withStore(async ({ store }) => {
      const row = (token: string, extra: Partial<SubmissionRow> = {}): SubmissionRow => ({ token, owner: 'user:ada', createdAt: 1, expiresAt: 100, finishedAt: null, record: `{"t":"${token}"}`, ...extra });
      await store.createSubmissions([row('a'), row('b', { expiresAt: 10 }), row('c', { finishedAt: 5 })]);
      await expect(store.createSubmissions([row('d'), row('a')])).rejects.toMatchObject({ code: 'already_exists' });
      expect(await store.getSubmissions(['d'], 1)).toEqual([]);
      expect((await store.getSubmissions(['a', 'b', 'zz'], 5)).map((r) => r.token).sort()).toEqual(['a', 'b']);
      expect((await store.getSubmissions(['a', 'b'], 10)).map((r) => r.token)).toEqual(['a']);
      expect(await store.updateSubmission({ token: 'a', record: '{"done":true}', finishedAt: 7 })).toBe(true);
      expect(await store.updateSubmission({ token: 'nope', record: '{}', finishedAt: 7 })).toBe(false);
      expect(await store.getSubmissions(['a'], 5)).toEqual([row('a', { record: '{"done":true}', finishedAt: 7 })]);
      expect((await store.listUnfinishedSubmissions()).map((r) => r.token)).toEqual(['b']);
      expect(await store.deleteExpiredSubmissions(10)).toBe(1);
      expect(await store.deleteExpiredSubmissions(100)).toBe(2);
      expect(await store.getSubmissions(['a', 'c'], 0)).toEqual([]);
    }));
  });
}
