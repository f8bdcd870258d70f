import { describe, expect, it } from 'vitest';
import { MAX_RANDOM_ID_BYTES, randomId } from './randomId.js';

describe('randomId', () => {
  it('gives base64url ids of the asked size', () => {
    expect(randomId()).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(randomId(9)).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(randomId(1)).toMatch(/^[A-Za-z0-9_-]{2}$/);
    expect(Buffer.from(randomId(MAX_RANDOM_ID_BYTES), 'base64url')).toHaveLength(MAX_RANDOM_ID_BYTES);
  });

  it('never repeats one, across many refills of its pool', () => {
    const ids = new Set<string>();
    // 4 KiB a pool: 20,000 ids of 12 bytes refill it ~58 times.
    for (let i = 0; i < 20_000; i++) ids.add(randomId());
    expect(ids.size).toBe(20_000);
  });

  it('uses its bytes evenly (each base64url character about as often as the others)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4_000; i++) for (const c of randomId(12)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(64);
    // 64,000 characters: 1,000 of each expected; a broken pool (zeros, repeats) is far off.
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
  });

  it('refuses sizes it cannot make', () => {
    for (const bad of [0, -1, 1.5, MAX_RANDOM_ID_BYTES + 1, Number.NaN]) expect(() => randomId(bad)).toThrow(RangeError);
  });
});
