/**
 * The guest memory of every VM the sandbox holds (warm pool, snapshot
 * template, session and one-shot VMs) counted against MAX_GUEST_MEMORY_MB, so
 * that no number of rooms or runs can make the host swap or OOM.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';

/** No VM can start: the ones there are hold all of MAX_GUEST_MEMORY_MB. SessionManager evicts an idle session on it. */
export class GuestMemoryFullError extends CodeCellError {
  override readonly name = 'GuestMemoryFullError';

  constructor(o: { usedMb: number; maxMb: number; needMb: number }) {
    super(
      'capacity_exceeded',
      `the sandbox's VMs hold ${o.usedMb} MiB of guest memory and this run needs ${o.needMb} MiB more; the limit is ${o.maxMb} MiB (MAX_GUEST_MEMORY_MB). Retry when a run ends, or raise MAX_GUEST_MEMORY_MB`,
    );
  }
}

/** A counter of guest memory in MiB with a ceiling. */
export class GuestMemory {
  #usedMb = 0;

  /** @param maxMb MAX_GUEST_MEMORY_MB; Infinity for no limit. */
  constructor(readonly maxMb: number) {}

  /** Guest memory of the VMs held now (and being started), MiB. */
  get usedMb(): number {
    return this.#usedMb;
  }

  /** True when `mb` more would stay within the limit. */
  fits(mb: number): boolean {
    return this.#usedMb + mb <= this.maxMb;
  }

  /** Counts `mb` for a VM about to start. @throws GuestMemoryFullError when it does not fit */
  take(mb: number): void {
    if (!this.fits(mb)) throw new GuestMemoryFullError({ usedMb: this.#usedMb, maxMb: this.maxMb, needMb: mb });
    this.#usedMb += mb;
  }

  /** Gives back what {@link GuestMemory.take} counted, once its VM is gone. */
  give(mb: number): void {
    this.#usedMb = Math.max(0, this.#usedMb - mb);
  }
}
