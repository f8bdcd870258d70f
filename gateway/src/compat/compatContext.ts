/**
 * What the compatible APIs' handlers are given by the gateway.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '@codecell/server-kit';
import type { Caller } from '../auth/Caller.js';
import type { CrossSitePolicy } from '../http/hosts.js';
import type { RuntimeCatalog } from '../RuntimeCatalog.js';
import type { CompatLimits } from './compatLimits.js';
import type { CompatRunner } from './CompatRunner.js';

/** The runtimes a run can use now (RuntimeCatalog's `runnable`: the table with the image's versions). */
export type CompatRuntimes = Pick<RuntimeCatalog, 'runnable'>;

/** Shared by the Piston and Judge0 handlers. */
export interface CompatContext {
  readonly runner: CompatRunner;
  readonly runtimes: CompatRuntimes;
  readonly limits: CompatLimits;
  readonly policy: CrossSitePolicy;
  readonly logger: Logger;
  /**
   * The caller of a request from its API token only (`Authorization: Bearer`,
   * and Judge0's `X-Auth-Token` when `judge0`); never the session cookie.
   */
  callerOf(req: IncomingMessage, o?: { judge0?: boolean }): Promise<Caller>;
}
