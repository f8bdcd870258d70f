/**
 * Counts open connections per client address, for the per-address caps
 * (MAX_CONNECTIONS_PER_ADDRESS on TCP, MAX_WS_PER_ADDRESS on WebSockets).
 * @module
 */

/** Open connections per address, up to a cap. */
export class AddressCounter {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The cap. */
  get max(): number {
    return this.#max;
  }

  /** Counts one more for `address`; false (and nothing counted) when it is at the cap. */
  acquire(address: string): boolean {
    const n = this.#open.get(address) ?? 0;
    if (n >= this.#max) return false;
    this.#open.set(address, n + 1);
    return true;
  }

  /** One fewer for `address`. */
  release(address: string): void {
    const n = (this.#open.get(address) ?? 1) - 1;
    if (n > 0) this.#open.set(address, n);
    else this.#open.delete(address);
  }

  /** Open connections of `address`. */
  count(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
