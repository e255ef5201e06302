/**
 * Number formatting for the tables and figure labels: every number with SIGNIFICANT_DIGITS significant digits, in
 * one of two notations chosen by magnitude alone — plain decimals for 1e-3 ≤ |x| < 1e4 (after rounding), else
 * `d.ddde±x` — so a column never mixes `1.68269e-8` with `0.0000163866`. Trailing zeros are kept (`2.000`): the
 * digit count is the precision, the same on every row.
 */
export const SIGNIFICANT_DIGITS = 4;

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? '—' : String(x);
  if (x === 0) return (0).toFixed(SIGNIFICANT_DIGITS - 1);
  const rounded = Number(Math.abs(x).toPrecision(SIGNIFICANT_DIGITS));
  const exponent = Math.floor(Math.log10(rounded));
  if (exponent >= -3 && exponent < SIGNIFICANT_DIGITS) return x.toFixed(SIGNIFICANT_DIGITS - 1 - exponent);
  return x.toExponential(SIGNIFICANT_DIGITS - 1).replace('e+', 'e');
}

export function formatMeanStd(mean: number, std: number): string {
  return `${formatNumber(mean)} ± ${formatNumber(std)}`;
}

export function formatInterval(iv: { lo: number; hi: number } | undefined): string {
  return iv ? `[${formatNumber(iv.lo)}, ${formatNumber(iv.hi)}]` : '—';
}

/** Markdown table cells must not contain pipes or newlines. */
export function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A run's name without the `<model>/<dataset>/` prefix that trial names carry, for labels inside a figure of that model and dataset. */
export function shortRunLabel(runName: string, model: string, dataset: string): string {
  const prefix = `${model}/${dataset}/`;
  return runName.startsWith(prefix) && runName.length > prefix.length ? runName.slice(prefix.length) : runName;
}
