import { describe, expect, it } from 'vitest';
import { p50DifferenceCi, percentile } from './stats.js';

describe('p50DifferenceCi', () => {
  it('brackets a known shift between noisy paired samples', () => {
    const a = Array.from({ length: 300 }, (_, i) => 20 + ((i * 7919) % 100) / 10);
    const b = a.map((v, i) => v + 2 + (((i * 104729) % 21) - 10) / 10);
    const { diff, lo, hi } = p50DifferenceCi(a, b);
    expect(diff).toBeCloseTo(percentile(b, 50) - percentile(a, 50));
    expect(lo).toBeLessThanOrEqual(diff);
    expect(hi).toBeGreaterThanOrEqual(diff);
    expect(lo).toBeGreaterThan(1);
    expect(hi).toBeLessThan(3);
  });

  it('resamples pairs together: a constant shift under a wide spread has no width at all', () => {
    // Unpaired resampling of the same data would give an interval ms wide: each side's median moves alone.
    const a = Array.from({ length: 200 }, (_, i) => 10 + ((i * 7919) % 200) / 5);
    const b = a.map((v) => v + 2);
    const { diff, lo, hi } = p50DifferenceCi(a, b);
    for (const v of [diff, lo, hi]) expect(v).toBeCloseTo(2, 9);
  });

  it('gives no interval at all for identical samples', () => {
    const a = [5, 6, 7, 8];
    expect(p50DifferenceCi(a, a)).toEqual({ diff: 0, lo: 0, hi: 0 });
  });

  it('refuses unpaired samples', () => {
    expect(() => p50DifferenceCi([1, 2], [1])).toThrow(/one length/);
    expect(() => p50DifferenceCi([], [])).toThrow(/non-empty/);
  });
});
