/**
 * Issue 14: the documented migration command (`npm run migrate-to-postgres
 * -w gateway`) copies an SQLite deployment into PostgreSQL, keeping every row
 * and every room byte for byte, and refuses to copy into a database that is
 * not empty. A gateway on the copy serves the same rooms.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ROOM_DOC } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { startTestPostgres } from '@codecell/server-kit/test';
import type { TestPostgres } from '@codecell/server-kit/test';
import { loadConfig } from '../../config.js';
import { createGateway } from '../../server.js';
import { trpcClient } from '../../test/clients.js';
import { joinRoom } from '../../test/collabClients.js';
import { openGatewayDatabase } from '../migrations.js';
import { openPostgres } from '../pg/PostgresDatabase.js';
import { SqliteGatewayStore } from '../SqliteGatewayStore.js';
import { COPY_ORDER } from './copySqliteToPostgres.js';

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
let pg: TestPostgres;
let dir: string;
beforeAll(async () => {
  pg = await startTestPostgres();
  dir = await mkdtemp(join(tmpdir(), 'gw-migrate-pg-'));
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const KEYS: Record<string, string> = {
  judge0_submissions: 'token',
  users: 'id',
  sessions: 'token_hash',
  api_tokens: 'id',
  invites: 'id',
  rooms: 'room_id',
  share_links: 'id',
  memberships: 'room_id, user_id',
  quota_counters: 'key, kind, window_start',
  room_updates: 'id',
};

function migrate(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'gateway/src/store/migrate/main.ts'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent', ...env }, encoding: 'utf8', timeout: 60_000 });
}

describe('issue 14: SQLite to PostgreSQL', () => {
  it('copies every table and keeps every room byte for byte; a gateway on PostgreSQL serves the same rooms', async () => {
    const collabDb = join(dir, 'collab.sqlite');
    // An embedded deployment with rooms edited through the collab server…
    const gw = await createGateway(loadConfig({ PORT: '0', COLLAB_DB: collabDb, SANDBOX_ADDR: '127.0.0.1:1', LOG_LEVEL: 'silent' }), silentLogger);
    const rooms: Array<{ roomId: string; entry: string; main: string }> = [];
    for (let i = 0; i < 3; i++) {
      const { roomId } = await trpcClient(gw.url).createRoom.mutate({ title: `Room ${i} é ✓`, ...(i === 1 ? { language: 'c' } : {}) });
      using c = joinRoom(gw.url, roomId);
      await c.synced();
      // One room of another language (issue 10): its language column is copied too.
      const entry = i === 1 ? 'main.c' : 'main.py';
      const main = c.doc.getMap<Y.Text>(ROOM_DOC.files).get(entry) as Y.Text;
      for (let k = 0; k <= i * 20; k++) main.insert(main.length, `print(${k}) # ünïcode ${'x'.repeat(k)}\n`);
      c.doc.getMap<Y.Text>(ROOM_DOC.files).set(`util${i}.py`, new Y.Text('X = 1\n'));
      await c.acknowledged();
      rooms.push({ roomId, entry, main: main.toJSON() });
    }
    await gw.close();
    // …and accounts, sessions, tokens, invites, links, members and quota counters.
    const db = openGatewayDatabase(collabDb);
    const store = new SqliteGatewayStore(db);
    await store.createUser({ id: 'u1', kind: 'user', username: 'ada', displayName: 'Ada', passwordHash: 'scrypt$x', admin: true, oidcIssuer: null, oidcSubject: null, createdAt: 1 });
    await store.createUser({ id: 'g1', kind: 'guest', username: null, displayName: 'Guest', passwordHash: null, admin: false, oidcIssuer: null, oidcSubject: null, createdAt: 2 });
    await store.createSession({ tokenHash: 'sh', userId: 'u1', createdAt: 3, expiresAt: 9_999_999_999_999 });
    await store.createApiToken({ id: 't1', userId: 'u1', name: 'ci', tokenHash: 'th', createdAt: 4, lastUsedAt: null, expiresAt: null, revokedAt: null });
    await store.createInvite({ id: 'i1', tokenHash: 'ih', createdBy: 'u1', createdAt: 5, expiresAt: 6, usedAt: null });
    await store.createLink({ id: 'l1', roomId: rooms[0]?.roomId ?? '', token: 'tok', role: 'runner', allowGuests: true, createdBy: 'u1', createdAt: 7, expiresAt: null, revokedAt: null });
    await store.putMembership({ roomId: rooms[0]?.roomId ?? '', userId: 'g1', role: 'runner', viaLinkId: 'l1', createdAt: 8 });
    await store.addQuota({ key: 'user:u1', kind: 'cpu_ms', windowStart: 0, amount: 1.5 });
    await store.createSubmissions([{ token: 'sub-1', owner: 'user:u1', createdAt: 9, expiresAt: 9_999_999_999_999, finishedAt: null, record: '{"status":1}' }]);
    // Every table of the SQLite schema is copied (a table added by a later migration must be added to COPY_ORDER).
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((t) => t.name);
    expect([...COPY_ORDER].sort()).toEqual(tables.sort());
    const sqliteRows = Object.fromEntries(COPY_ORDER.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY ${KEYS[t]}`).all()]));
    db.close();

    const url = await pg.createDatabase('migrated');
    const r = migrate({ COLLAB_DB: collabDb, DATABASE_URL: url });
    expect(r.stderr).toMatch(/3 rooms \(\d+ bytes\) verified byte for byte/);
    expect(r.status).toBe(0);
    const target = await openPostgres({ url });
    for (const t of COPY_ORDER) {
      const rows = (await target.pool.query(`SELECT * FROM ${t} ORDER BY ${KEYS[t]}`)).rows as Array<Record<string, unknown>>;
      // Same rows, same values; BLOBs and BYTEAs compared as bytes.
      expect(rows, t).toEqual(sqliteRows[t]);
    }
    await target.close();
    // Copying again into a database that has data is refused.
    const again = migrate({ COLLAB_DB: collabDb, DATABASE_URL: url });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/not empty .*migrate into an empty database/);
    // A gateway on PostgreSQL serves the rooms as they were.
    const onPg = await createGateway(loadConfig({ PORT: '0', DATABASE_URL: url, SANDBOX_ADDR: '127.0.0.1:1', LOG_LEVEL: 'silent' }), silentLogger);
    try {
      for (const { roomId, entry, main } of rooms) {
        using c = joinRoom(onPg.url, roomId);
        await c.synced();
        expect(c.doc.getMap<Y.Text>(ROOM_DOC.files).get(entry)?.toJSON()).toBe(main);
      }
      expect(await onPg.store.getMembership(rooms[0]?.roomId ?? '', 'g1')).toMatchObject({ role: 'runner', viaLinkId: 'l1' });
    } finally {
      await onPg.close();
    }
  }, 120_000);

  it('says what is missing without DATABASE_URL', () => {
    const r = migrate({ COLLAB_DB: join(dir, 'none.sqlite'), DATABASE_URL: '' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/DATABASE_URL: set it/);
  });
});
