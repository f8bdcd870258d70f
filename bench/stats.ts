/**
 * Percentiles and formatting for benchmark reports.
 * @module
 */

/** Nearest-rank percentile of `values` (0 < p <= 100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** `12.3` style milliseconds. */
export const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');

/** A markdown table from a header row and rows. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A small seeded PRNG (mulberry32), so a report's interval does not change when it is recomputed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Paired bootstrap of `p50(b) - p50(a)`: runs `a[i]` and `b[i]` were taken in turns, so one resample draws
 * the pair i (both sides share whatever the host was doing then). Returns the estimate and its 95% interval.
 * @throws Error when the two sides differ in length or are empty
 */
export function p50DifferenceCi(a: readonly number[], b: readonly number[], o: { resamples?: number; seed?: number } = {}): { diff: number; lo: number; hi: number } {
  const { resamples = 2000, seed = 1 } = o;
  if (a.length !== b.length || a.length === 0) throw new Error(`paired samples must be non-empty and of one length (got ${a.length} and ${b.length})`);
  const random = seeded(seed);
  const diffs: number[] = [];
  const ra = new Array<number>(a.length);
  const rb = new Array<number>(b.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < a.length; i++) {
      const k = Math.floor(random() * a.length);
      ra[i] = a[k] as number;
      rb[i] = b[k] as number;
    }
    diffs.push(percentile(rb, 50) - percentile(ra, 50));
  }
  return { diff: percentile(b, 50) - percentile(a, 50), lo: percentile(diffs, 2.5), hi: percentile(diffs, 97.5) };
}
