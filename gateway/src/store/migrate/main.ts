/**
 * `npm run migrate-to-postgres -w gateway`: copies the SQLite database of an
 * embedded deployment (COLLAB_DB, default ~/.cache/codecell/collab.sqlite)
 * into the empty PostgreSQL database DATABASE_URL names, with the gateway's
 * own configuration (environment, then gateway/.env). Stop the gateway
 * first: what it writes during the copy would not be copied. Exit codes: 0
 * copied and verified, 1 refused or failed, 2 bad configuration.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { EnvFileError, loadServiceEnvFile } from '@codecell/server-kit';
import { ConfigError, loadConfig } from '../../config.js';
import { closeGatewayDatabase, openGatewayDatabase } from '../migrations.js';
import { openPostgres, redact } from '../pg/PostgresDatabase.js';
import { copySqliteToPostgres } from './copySqliteToPostgres.js';

const GATEWAY_ENV_FILE = fileURLToPath(new URL('../../../.env', import.meta.url));

async function main(): Promise<number> {
  let config;
  try {
    loadServiceEnvFile({ defaultPath: GATEWAY_ENV_FILE, overrideVar: 'GATEWAY_ENV_FILE', env: process.env });
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError || err instanceof EnvFileError ? err.message : String(err)}\n`);
    return 2;
  }
  if (config.DATABASE_URL === undefined) {
    process.stderr.write('DATABASE_URL: set it to the PostgreSQL database to copy into (postgresql://user:password@host:port/database)\n');
    return 2;
  }
  process.stderr.write(`copying ${config.COLLAB_DB} into ${redact(config.DATABASE_URL)}\n`);
  const from = openGatewayDatabase(config.COLLAB_DB);
  try {
    const to = await openPostgres({ url: config.DATABASE_URL, poolSize: 2, applicationName: 'codecell-migrate' });
    try {
      const report = await copySqliteToPostgres(from, to);
      const tables = Object.entries(report.rows).map(([t, n]) => `${t} ${n}`).join(', ');
      process.stderr.write(`copied ${tables}; ${report.roomsVerified} rooms (${report.bytes} bytes) verified byte for byte\n`);
      process.stderr.write('now start the gateways with DATABASE_URL set (COLLAB_DB is no longer used)\n');
      return 0;
    } finally {
      await to.close();
    }
  } catch (err) {
    process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    closeGatewayDatabase(from);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`migration failed: ${String(err)}\n`);
    process.exit(1);
  },
);
