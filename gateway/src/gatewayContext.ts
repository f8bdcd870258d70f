/**
 * What the gateway says of itself: the sandbox's health (the runtime list is
 * RuntimeCatalog's).
 * @module
 */
import { toCodeCellError } from '@codecell/protocol';
import type { SandboxApi } from './sandboxClient.js';
import type { GatewayHealth } from './trpc/context.js';

/** The gateway's version (gateway/package.json), as Judge0's `/about` reports it. */
export const GATEWAY_VERSION = '0.1.0';

/** How long `health` waits for the sandbox before reporting it unreachable. */
export const HEALTH_TIMEOUT_MS = 2_000;

/** Asks the sandbox for its health; never throws. */
export async function checkHealth(sandbox: SandboxApi, signal?: AbortSignal): Promise<GatewayHealth> {
  const timeout = AbortSignal.timeout(HEALTH_TIMEOUT_MS);
  try {
    const h = await sandbox.health(signal ? AbortSignal.any([signal, timeout]) : timeout);
    if (h.ok && h.ready) return { ok: true, sandbox: h, message: null };
    return { ok: false, sandbox: h, message: h.ok ? 'the sandbox is still starting its warm VM pool; runs will wait' : 'the sandbox reports a problem' };
  } catch (err) {
    const message = timeout.aborted ? `the sandbox did not answer within ${HEALTH_TIMEOUT_MS} ms` : toCodeCellError(err).message;
    return { ok: false, sandbox: null, message };
  }
}
