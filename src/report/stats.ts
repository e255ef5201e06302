/** Plain summary statistics for the tables (float64, two-pass for the variance) and the bootstrap. */
import { createRng } from '../util/rng.js';

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for a single value, NaN for none. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  if (xs.length === 1) return 0;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Math.sqrt(ss / (xs.length - 1));
}

/** The percentile bootstrap the tables use: fixed resample count and RNG seed, so a rerun prints the same intervals. */
export const BOOTSTRAP = { resamples: 2000, seed: 20_190_901, level: 0.95 } as const;

/**
 * The empirical quantile that the bootstrap's percentile interval takes: the smallest value v of the sorted
 * sample with at least a share p of the sample ≤ v (the inverse of the empirical CDF, no interpolation).
 */
export function lowerQuantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length - 1e-9) - 1));
  return sorted[i];
}

/**
 * Percentile bootstrap interval of the mean of `xs`: resample xs with replacement `resamples` times (uniform
 * indices from createRng(seed)), take each resample's mean, and read the (1 − level)/2 and (1 + level)/2
 * quantiles of those means. Undefined for an empty sample; a single value gives the degenerate [x, x].
 */
export function bootstrapMeanInterval(
  xs: readonly number[],
  opts: { resamples: number; seed: number; level: number } = BOOTSTRAP,
): { lo: number; hi: number } | undefined {
  const values = xs.filter((x) => Number.isFinite(x));
  if (values.length === 0) return undefined;
  const rng = createRng(opts.seed);
  const means = new Float64Array(opts.resamples);
  for (let b = 0; b < opts.resamples; b++) {
    let s = 0;
    for (let i = 0; i < values.length; i++) s += values[rng.int(values.length)];
    means[b] = s / values.length;
  }
  const sorted = [...means].sort((a, b) => a - b);
  const tail = (1 - opts.level) / 2;
  return { lo: lowerQuantile(sorted, tail), hi: lowerQuantile(sorted, 1 - tail) };
}
