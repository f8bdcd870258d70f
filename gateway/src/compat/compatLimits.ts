/**
 * The limits the compatible APIs translate their requests into: the gateway's
 * own (RUN_TIMEOUT_MS, MAX_RUN_TIMEOUT_MS, MAX_MEM_MB), so a Piston or Judge0
 * run can never ask for more than `runCode` may.
 * @module
 */
import { DEFAULT_COMPILE_LIMITS } from '@codecell/protocol';
import type { GatewayConfig } from '../config.js';

/** Defaults and maxima, in the gateway's units. */
export interface CompatLimits {
  /** RUN_TIMEOUT_MS: a run's wall-clock limit when it asks for none. */
  readonly defaultTimeoutMs: number;
  /** MAX_RUN_TIMEOUT_MS: the most a run (or a compile) may ask for. */
  readonly maxTimeoutMs: number;
  /** MAX_MEM_MB: the program's memory by default and at most, MiB. */
  readonly maxMemoryMb: number;
  /** The compiler's memory at most, MiB (the runtime table's default compile memory). */
  readonly maxCompileMemoryMb: number;
}

/** The limits of a gateway configuration. */
export function compatLimitsOf(config: Pick<GatewayConfig, 'RUN_TIMEOUT_MS' | 'MAX_RUN_TIMEOUT_MS' | 'MAX_MEM_MB'>): CompatLimits {
  return Object.freeze({
    defaultTimeoutMs: config.RUN_TIMEOUT_MS,
    maxTimeoutMs: config.MAX_RUN_TIMEOUT_MS,
    maxMemoryMb: config.MAX_MEM_MB,
    maxCompileMemoryMb: DEFAULT_COMPILE_LIMITS.compileMemoryMb,
  });
}
