/** Plain summary statistics for the tables (float64, two-pass for the variance). */
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
