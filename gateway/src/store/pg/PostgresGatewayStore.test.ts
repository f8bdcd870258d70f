/**
 * Issue 14: the PostgreSQL store passes the same contract as SQLite's, on a
 * real PostgreSQL the test starts; both migration lists make the same
 * schema; the room log on PostgreSQL never loses an update to compaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres } from '@codecell/server-kit/test';
import type { TestPostgres } from '@codecell/server-kit/test';
import { describeRoomLogContract } from '../../collab/roomLogContract.js';
import { SCHEMA_VERSION, openGatewayDatabase } from '../migrations.js';
import { describeGatewayStoreContract } from '../storeContract.js';
import { PG_SCHEMA_VERSION, openPostgres } from './PostgresDatabase.js';
import { PostgresGatewayStore } from './PostgresGatewayStore.js';
import { PostgresRoomLog } from './PostgresRoomLog.js';

let pg: TestPostgres;
let n = 0;
beforeAll(async () => {
  pg = await startTestPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

async function freshDb() {
  return openPostgres({ url: await pg.createDatabase(`t${++n}`), poolSize: 4 });
}

describeGatewayStoreContract('PostgreSQL', async () => {
  const db = await freshDb();
  return {
    store: new PostgresGatewayStore(db),
    appendRoomContent: async (roomId, bytes) => void (await db.pool.query('INSERT INTO room_updates (room_id, data) VALUES ($1, $2)', [roomId, Buffer.alloc(bytes)])),
    close: () => db.close(),
  };
});

describe('issue 14: PostgreSQL schema and room log', () => {
  it('has the same migrations as SQLite: the same tables with the same columns, at the same version', async () => {
    expect(PG_SCHEMA_VERSION).toBe(SCHEMA_VERSION);
    const lite = openGatewayDatabase(':memory:');
    const liteTables = (lite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
    const liteSchema = Object.fromEntries(liteTables.map((t) => [t, (lite.pragma(`table_info(${t})`) as Array<{ name: string }>).map((c) => c.name).sort()]));
    lite.close();
    const db = await freshDb();
    const cols = await db.pool.query<{ table_name: string; column_name: string }>(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'codecell_schema' ORDER BY table_name, column_name",
    );
    const pgSchema: Record<string, string[]> = {};
    for (const c of cols.rows) (pgSchema[c.table_name] ??= []).push(c.column_name);
    for (const t of Object.keys(pgSchema)) pgSchema[t]?.sort();
    expect(pgSchema).toEqual(liteSchema);
    // Opening again applies nothing twice; a newer schema is refused with what to do.
    await db.close();
    const url = pg.urlFor(`t${n}`);
    await (await openPostgres({ url })).close();
    const raw = await openPostgres({ url });
    await raw.pool.query('UPDATE codecell_schema SET version = version + 1');
    await raw.close();
    await expect(openPostgres({ url })).rejects.toThrow(/newer gateway .*DATABASE_URL/);
  });

  it('gateways starting together migrate once', async () => {
    const url = await pg.createDatabase(`t${++n}`);
    const dbs = await Promise.all([openPostgres({ url }), openPostgres({ url }), openPostgres({ url })]);
    expect((await dbs[0]?.pool.query('SELECT version FROM codecell_schema'))?.rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
    await Promise.all(dbs.map((d) => d.close()));
  });
});

describeRoomLogContract('PostgreSQL', async () => {
  const db = await freshDb();
  return { log: new PostgresRoomLog(db), close: () => db.close() };
});
