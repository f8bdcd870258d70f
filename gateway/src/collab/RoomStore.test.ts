import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SqliteRoomLog } from './RoomLog.js';
import { describeRoomLogContract } from './roomLogContract.js';
import { RoomStore } from './RoomStore.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-roomstore-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'a', 'b', 'collab.sqlite');
}

describe('RoomStore', () => {
  it('creates its directory, logs updates in order and replays them after reopening', async () => {
    const path = await tempPath();
    const doc = new Y.Doc();
    const store = new RoomStore(path);
    doc.on('update', (u: Uint8Array) => store.appendUpdate('r1', u));
    for (let i = 0; i < 5; i++) doc.getText('t').insert(i, String(i));
    store.close();
    store.close(); // twice is fine

    const again = new RoomStore(path);
    cleanups.push(() => again.close());
    expect(again.updateCount('r1')).toBe(5);
    const copy = new Y.Doc();
    for (const u of again.loadUpdates('r1')) Y.applyUpdate(copy, u);
    expect(copy.getText('t').toJSON()).toBe('01234');
    expect(again.loadUpdates('other')).toEqual([]);
  });

  it('compaction replaces the log with one update holding the same state', () => {
    const store = new RoomStore(':memory:');
    cleanups.push(() => store.close());
    const doc = new Y.Doc();
    doc.on('update', (u: Uint8Array) => store.appendUpdate('r1', u));
    for (let i = 0; i < 20; i++) doc.getText('t').insert(0, 'x');
    store.compact('r1', Y.encodeStateAsUpdate(doc));
    expect(store.updateCount('r1')).toBe(1);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.mergeUpdates(store.loadUpdates('r1')));
    expect(copy.getText('t').toJSON()).toBe('x'.repeat(20));
  });

  it('refuses a file written by a newer schema, naming COLLAB_DB', async () => {
    const path = await tempPath();
    new RoomStore(path).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => new RoomStore(path)).toThrow(/newer gateway .*COLLAB_DB/);
  });
});

describeRoomLogContract('SQLite', async () => {
  const store = new RoomStore(':memory:');
  return { log: new SqliteRoomLog(store), close: async () => store.close() };
});
