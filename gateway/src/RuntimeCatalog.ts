/**
 * The gateway's `runtimes`: the runtime table of `@codecell/protocol` (names,
 * aliases, extensions, editor modes, entry files) with what the sandbox says
 * of each one (`GET /runtimes`: whether its guest image has it, and the
 * version its manifest records). Cached. When the sandbox cannot say, the
 * table is still listed, with `available: false` and no versions: while it is
 * unreachable for every runtime, and for all but Python when it is older than
 * `GET /runtimes` (such a sandbox runs Python only). Each change of where the
 * list comes from is logged once, saying what to do. The compatible APIs
 * (issue 13) list only what a run can use now: {@link RuntimeCatalog.runnable}.
 * @module
 */
import { CodeCellError, RUNTIME_IDS, runtimeList, toCodeCellError } from '@codecell/protocol';
import type { Runtime, RuntimeInfo } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { SandboxApi } from './sandboxClient.js';

/** How long a list the sandbox gave is reused, ms (its image changes only when it restarts). */
export const RUNTIMES_TTL_MS = 60_000;
/** How long a fallback list (sandbox unreachable) is reused before asking again, ms. */
export const RUNTIMES_RETRY_MS = 5_000;
/** How long the sandbox has to answer `GET /runtimes`, ms. */
export const RUNTIMES_TIMEOUT_MS = 2_000;

/** Where the current list came from. */
export type RuntimeSource = 'sandbox' | 'older_sandbox' | 'unreachable';

/** Options of {@link RuntimeCatalog}. */
export interface RuntimeCatalogOptions {
  /** Where the runtimes come from: the sandbox (`GET /runtimes`), or in fleet mode the hosts' registrations. */
  readonly sandbox: Pick<SandboxApi, 'runtimes'> & Partial<Pick<SandboxApi, 'health'>>;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Cached {
  readonly list: Runtime[];
  readonly until: number;
}

/** The `runtimes` procedure's data, cached, with one request to the sandbox at a time. */
export class RuntimeCatalog {
  readonly #o: RuntimeCatalogOptions;
  #cached: Cached | null = null;
  #inflight: Promise<Runtime[]> | null = null;
  #source: RuntimeSource | null = null;
  /** Why the sandbox could not be asked, while {@link RuntimeCatalog.source} is `unreachable`. */
  #unreachable = '';

  constructor(options: RuntimeCatalogOptions) {
    this.#o = options;
  }

  /** Where the list came from the last time the sandbox was asked (null: not asked yet). */
  get source(): RuntimeSource | null {
    return this.#source;
  }

  /** Every runtime of the table, in table order. Never fails (but for `signal`). */
  list(signal?: AbortSignal): Promise<Runtime[]> {
    const now = (this.#o.now ?? Date.now)();
    if (this.#cached !== null && now < this.#cached.until) return Promise.resolve(this.#cached.list);
    // Shared by concurrent callers, so it is bounded by its own timeout, not by one caller's signal.
    this.#inflight ??= this.#load().finally(() => (this.#inflight = null));
    return signal === undefined ? this.#inflight : untilAborted(this.#inflight, signal);
  }

  /**
   * The runtimes a run can use now, as the sandbox's image has them: available
   * and with a version the image records (Piston and Judge0 clients pick by
   * version), in table order. A runtime without a recorded version is left out.
   * @throws CodeCellError sandbox_unavailable while the sandbox cannot be asked, saying why
   */
  async runnable(signal?: AbortSignal): Promise<RuntimeInfo[]> {
    const list = await this.list(signal);
    if (this.#source === 'unreachable') throw new CodeCellError('sandbox_unavailable', this.#unreachable);
    return list.flatMap(({ language, available, version, ...rest }) => (available && version !== null ? [{ id: language, version, ...rest }] : []));
  }

  async #load(): Promise<Runtime[]> {
    const timeout = AbortSignal.timeout(RUNTIMES_TIMEOUT_MS);
    try {
      const listed = await this.#o.sandbox.runtimes(timeout);
      const known = listed.filter((r) => (RUNTIME_IDS as readonly string[]).includes(r.id));
      this.#report('sandbox', () =>
        this.#o.logger.info('runtimes from the sandbox', {
          available: known.map((r) => `${r.id} ${r.version}`).join(', '),
          ...(known.length < listed.length ? { unknownToThisGateway: listed.filter((r) => !known.includes(r)).map((r) => r.id).join(', ') } : {}),
        }),
      );
      return this.#keep(runtimeList(new Map(known.map((r) => [r.id, r.version]))), RUNTIMES_TTL_MS);
    } catch (err) {
      const e = toCodeCellError(err);
      if (e.code === 'not_found') return this.#keep(await this.#olderSandbox(), RUNTIMES_TTL_MS);
      const why = timeout.aborted ? `the sandbox did not answer GET /runtimes within ${RUNTIMES_TIMEOUT_MS} ms` : e.message;
      this.#unreachable = why;
      this.#report('unreachable', () =>
        this.#o.logger.warn('cannot list runtimes; listing every runtime of the table as unavailable, without versions, until the sandbox answers', { reason: why }),
      );
      return this.#keep(runtimeList(new Map()), RUNTIMES_RETRY_MS);
    }
  }

  /** A sandbox without `GET /runtimes` runs Python only; its health may say which version. */
  async #olderSandbox(): Promise<Runtime[]> {
    const health = this.#o.sandbox.health?.(AbortSignal.timeout(RUNTIMES_TIMEOUT_MS));
    const python = health ? await health.then((h) => h.python, () => null) : null;
    this.#report('older_sandbox', () =>
      this.#o.logger.warn('the sandbox has no GET /runtimes (it is older than the gateway): only Python is listed as available; update the sandbox to run the other languages', {
        python: python ?? 'unknown',
      }),
    );
    return runtimeList(new Map([['py', python ?? 'unknown']]));
  }

  #keep(list: Runtime[], ttlMs: number): Runtime[] {
    this.#cached = { list, until: (this.#o.now ?? Date.now)() + ttlMs };
    return list;
  }

  /** Logs only when the source changes: a sandbox down for an hour is one line, not one per page load. */
  #report(source: RuntimeSource, log: () => void): void {
    if (this.#source !== source) log();
    this.#source = source;
  }
}

/** `promise`, or the abort reason of `signal` if that comes first. */
function untilAborted<TValue>(promise: Promise<TValue>, signal: AbortSignal): Promise<TValue> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<TValue>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}
