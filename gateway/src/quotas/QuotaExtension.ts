/**
 * Per-user quotas (issue 9) as a {@link GatewayExtension}: concurrent runs,
 * runs per minute, CPU-seconds per day, rooms owned and storage bytes, counted
 * per account (per address for guests). Counters that must outlive the
 * process (runs per minute, CPU time) are in the store; concurrent runs are
 * counted by an {@link ActiveRuns} (in memory by default, in Redis in fleet
 * mode, so the limit holds across gateways). Each refusal is
 * `quota_exceeded` naming the quota, its limit and when it resets.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { QuotaDetails, QuotaName, QuotaUsage } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { Caller } from '../auth/Caller.js';
import { quotaKeyOf } from '../auth/Caller.js';
import type { AfterRunPayload, BeforeRunPayload, GatewayExtension, RoomWritePayload, TerminalEndPayload } from '../extensions.js';
import type { GatewayStore } from '../store/GatewayStore.js';
import { LocalActiveRuns } from './ActiveRuns.js';
import type { ActiveRuns } from './ActiveRuns.js';
import { StorageQuotaGuard } from './StorageQuotaGuard.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The limits; 0 means unlimited. */
export interface QuotaLimits {
  /** QUOTA_CONCURRENT_RUNS: runs queued or running at once. */
  readonly concurrentRuns: number;
  /** QUOTA_RUNS_PER_MINUTE: runs started per clock minute. */
  readonly runsPerMinute: number;
  /** QUOTA_CPU_SECONDS_PER_DAY: CPU time of runs per UTC day. */
  readonly cpuSecondsPerDay: number;
  /** QUOTA_ROOMS: rooms owned. */
  readonly rooms: number;
  /** QUOTA_STORAGE_MB in bytes: stored content of the rooms owned. */
  readonly storageBytes: number;
}

const VARIABLE: Record<QuotaName, string> = {
  concurrent_runs: 'QUOTA_CONCURRENT_RUNS',
  runs_per_minute: 'QUOTA_RUNS_PER_MINUTE',
  cpu_seconds_per_day: 'QUOTA_CPU_SECONDS_PER_DAY',
  rooms: 'QUOTA_ROOMS',
  storage_bytes: 'QUOTA_STORAGE_MB',
};

/** `quota_exceeded`, with the details pages show (`data.quota` in tRPC errors). */
export class QuotaExceededError extends CodeCellError {
  override readonly name = 'QuotaExceededError';
  readonly details: QuotaDetails;

  /** `what` says what was counted; `now` (epoch ms) is used for "in N s". */
  constructor(details: QuotaDetails, o: { readonly what: string; readonly now: number }) {
    const when =
      details.resetsAt === null
        ? 'it frees up as soon as you use less'
        : `it resets at ${new Date(details.resetsAt).toISOString()} (in ${Math.max(1, Math.ceil((details.resetsAt - o.now) / 1000))} s)`;
    super('quota_exceeded', `quota ${details.quota} reached: ${o.what} (${VARIABLE[details.quota]}=${details.limit}); ${when}`);
    this.details = details;
  }
}

/** Options of {@link QuotaExtension}. */
export interface QuotaExtensionOptions {
  readonly store: GatewayStore;
  readonly limits: QuotaLimits;
  readonly logger: Logger;
  /** Counts concurrent runs. @default in this process */
  readonly activeRuns?: ActiveRuns;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Counts and enforces the quotas. */
export class QuotaExtension implements GatewayExtension {
  readonly extensionName = 'codecell-quotas';
  readonly collabExtensions: readonly StorageQuotaGuard[];
  readonly #o: QuotaExtensionOptions;
  /** The storage quota's counter, shared by client updates and the gateway's own room writes; null when unlimited. */
  readonly #storage: StorageQuotaGuard | null;
  /** Runs queued or running per quota key. */
  readonly #active: ActiveRuns;

  constructor(options: QuotaExtensionOptions) {
    this.#o = options;
    this.#active = options.activeRuns ?? new LocalActiveRuns();
    this.#storage = options.limits.storageBytes > 0 ? new StorageQuotaGuard({ store: options.store, limitBytes: options.limits.storageBytes, now: options.now }) : null;
    this.collabExtensions = this.#storage ? [this.#storage] : [];
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Refuses when the owner's runs and terminal sessions used CPU_SECONDS_PER_DAY already. */
  async #checkCpuDay(key: string, now: number): Promise<void> {
    const { limits, store } = this.#o;
    if (limits.cpuSecondsPerDay === 0) return;
    const day = Math.floor(now / DAY_MS) * DAY_MS;
    const usedS = (await store.getQuota({ key, kind: 'cpu_ms', windowStart: day })) / 1000;
    if (usedS >= limits.cpuSecondsPerDay) {
      throw new QuotaExceededError({ quota: 'cpu_seconds_per_day', limit: limits.cpuSecondsPerDay, used: Math.round(usedS), resetsAt: day + DAY_MS }, { what: `your runs and shells used ${Math.round(usedS)} CPU-seconds today`, now });
    }
  }

  #chargeCpu(key: string, cpuMs: number | null): void {
    if (cpuMs === null || cpuMs <= 0 || this.#o.limits.cpuSecondsPerDay === 0) return;
    const day = Math.floor(this.#now() / DAY_MS) * DAY_MS;
    this.#o.store.addQuota({ key, kind: 'cpu_ms', windowStart: day, amount: cpuMs }).catch((err: unknown) => {
      this.#o.logger.error('could not count CPU time', { key, error: String(err) });
    });
  }

  async beforeRun({ owner }: BeforeRunPayload): Promise<void> {
    const { limits, store } = this.#o;
    const now = this.#now();
    const key = owner.key;
    await this.#checkCpuDay(key, now);
    // Before counting this minute's runs: a run refused for concurrency does not use one up.
    const active = await this.#active.count(key);
    if (limits.concurrentRuns > 0 && active >= limits.concurrentRuns) this.#refuseConcurrent(active);
    if (limits.runsPerMinute > 0) {
      const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
      const r = await store.consumeQuota({ key, kind: 'runs', windowStart: minute, amount: 1, limit: limits.runsPerMinute });
      if (!r.ok) {
        throw new QuotaExceededError({ quota: 'runs_per_minute', limit: limits.runsPerMinute, used: r.used, resetsAt: minute + MINUTE_MS }, { what: `you started ${r.used} runs this minute`, now });
      }
    }
    // Counted atomically: concurrent requests (on any gateway) cannot both slip through.
    const taken = await this.#active.tryAcquire({ key, limit: limits.concurrentRuns });
    if (!taken.ok) this.#refuseConcurrent(taken.used);
  }

  afterRun({ owner, accepted, cpuMs, adopted }: AfterRunPayload): void {
    if (adopted !== true) this.#active.release(owner.key);
    if (accepted) this.#chargeCpu(owner.key, cpuMs);
  }

  /** A shell or console counts against CPU_SECONDS_PER_DAY like runs (its opener's), not against the run counts. */
  async beforeTerminal({ owner }: BeforeRunPayload): Promise<void> {
    await this.#checkCpuDay(owner.key, this.#now());
  }

  afterTerminal({ owner, cpuMs }: TerminalEndPayload): void {
    this.#chargeCpu(owner.key, cpuMs);
  }

  async beforeCreateRoom({ caller }: { readonly caller: Caller }): Promise<void> {
    const { limits, store } = this.#o;
    const now = this.#now();
    const userId = caller.principal?.userId;
    if (userId === undefined) return;
    if (limits.rooms > 0) {
      const owned = await store.countRoomsOwnedBy(userId);
      if (owned >= limits.rooms) throw new QuotaExceededError({ quota: 'rooms', limit: limits.rooms, used: owned, resetsAt: null }, { what: `you own ${owned} rooms; delete one to make another`, now });
    }
    if (limits.storageBytes > 0) {
      const bytes = await store.storageBytesOwnedBy(userId);
      if (bytes >= limits.storageBytes) {
        throw new QuotaExceededError({ quota: 'storage_bytes', limit: limits.storageBytes, used: bytes, resetsAt: null }, { what: `your rooms hold ${bytes} bytes; delete files or rooms`, now });
      }
    }
  }

  /** Files a run wrote count against the room owner's storage like an edit would. */
  async beforeRoomWrite(payload: RoomWritePayload): Promise<void> {
    const problem = (await this.#storage?.admit(payload)) ?? null;
    if (problem !== null) throw new CodeCellError('quota_exceeded', problem);
  }

  /** `quotas.mine`: each quota's limit (null = unlimited), what the caller used and when it resets. */
  async usage(caller: Caller): Promise<QuotaUsage> {
    const { limits, store } = this.#o;
    const now = this.#now();
    const key = quotaKeyOf(caller);
    const day = Math.floor(now / DAY_MS) * DAY_MS;
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const userId = caller.principal?.kind === 'user' ? caller.principal.userId : null;
    const limit = (n: number): number | null => (n > 0 ? n : null);
    return [
      { quota: 'concurrent_runs', limit: limit(limits.concurrentRuns), used: await this.#active.count(key), resetsAt: null },
      { quota: 'runs_per_minute', limit: limit(limits.runsPerMinute), used: await store.getQuota({ key, kind: 'runs', windowStart: minute }), resetsAt: minute + MINUTE_MS },
      { quota: 'cpu_seconds_per_day', limit: limit(limits.cpuSecondsPerDay), used: Math.round((await store.getQuota({ key, kind: 'cpu_ms', windowStart: day })) / 1000), resetsAt: day + DAY_MS },
      { quota: 'rooms', limit: limit(limits.rooms), used: userId === null ? 0 : await store.countRoomsOwnedBy(userId), resetsAt: null },
      { quota: 'storage_bytes', limit: limit(limits.storageBytes), used: userId === null ? 0 : await store.storageBytesOwnedBy(userId), resetsAt: null },
    ];
  }

  /** Drops counters of windows older than two days. */
  async prune(): Promise<void> {
    await this.#o.store.pruneQuotas(this.#now() - 2 * DAY_MS);
  }

  /** Stops the concurrent-run counter's timers. */
  dispose(): void {
    this.#active.dispose();
  }

  #refuseConcurrent(active: number): never {
    const limit = this.#o.limits.concurrentRuns;
    throw new QuotaExceededError({ quota: 'concurrent_runs', limit, used: active, resetsAt: null }, { what: `${active} of your runs are queued or running`, now: this.#now() });
  }
}
