import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, openGatewayDatabase } from './migrations.js';
import { SqliteGatewayStore } from './SqliteGatewayStore.js';
import { describeGatewayStoreContract } from './storeContract.js';

describeGatewayStoreContract('SQLite', async () => {
  const db = openGatewayDatabase(':memory:');
  return {
    store: new SqliteGatewayStore(db),
    appendRoomContent: async (roomId, bytes) => void db.prepare('INSERT INTO room_updates (room_id, data) VALUES (?, ?)').run(roomId, Buffer.alloc(bytes)),
    close: async () => void db.close(),
  };
});

describe('gateway database migrations', () => {
  it('upgrade a database of the first version (rooms only) in place, keeping its rooms', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-migrate-'));
    try {
      const path = join(dir, 'collab.sqlite');
      const v1 = new Database(path);
      v1.exec('CREATE TABLE rooms (room_id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;');
      v1.exec("INSERT INTO rooms VALUES ('kept', 'Kept', 7); PRAGMA user_version = 1;");
      v1.close();
      const db = openGatewayDatabase(path);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(await new SqliteGatewayStore(db).getRoom('kept')).toEqual({ roomId: 'kept', title: 'Kept', ownerId: null, createdAt: 7, language: null });
      db.close();
      // Opening again applies nothing twice.
      openGatewayDatabase(path).close();
      const newer = new Database(path);
      newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      newer.close();
      expect(() => openGatewayDatabase(path)).toThrow(/newer gateway .*COLLAB_DB/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
