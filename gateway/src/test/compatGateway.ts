/**
 * A gateway in front of the scripted sandbox, for the compatible APIs' tests
 * (in-memory database, AUTH_MODE=none unless `env` says otherwise).
 * @module
 */
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../config.js';
import { createGateway } from '../server.js';
import type { Gateway, GatewayOverrides } from '../server.js';
import { startScriptedSandbox } from './scriptedSandbox.js';
import type { ScriptedSandbox } from './scriptedSandbox.js';

/** A running gateway and its scripted sandbox. */
export interface CompatGateway extends AsyncDisposable {
  readonly gw: Gateway;
  readonly sandbox: ScriptedSandbox;
  close(): Promise<void>;
}

/** Starts both; `close` (or `await using`) stops both. */
export async function startCompatGateway(o: { env?: Record<string, string>; overrides?: GatewayOverrides } = {}): Promise<CompatGateway> {
  const sandbox = await startScriptedSandbox();
  try {
    const config = loadConfig({ PORT: '0', SANDBOX_ADDR: sandbox.url, COLLAB_DB: ':memory:', LOG_LEVEL: 'silent', ...o.env });
    const gw = await createGateway(config, silentLogger, o.overrides);
    const close = async (): Promise<void> => {
      await gw.close();
      await sandbox.close();
    };
    return { gw, sandbox, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await sandbox.close();
    throw err;
  }
}
