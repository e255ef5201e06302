/** Number formatting for the tables: six significant digits, read back exactly by Number(). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(6)));
}

export function formatMeanStd(mean: number, std: number): string {
  return `${formatNumber(mean)} ± ${formatNumber(std)}`;
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
