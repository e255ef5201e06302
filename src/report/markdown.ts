/**
 * `results/<sweep>/README.md`: what the numbers rest on (budget, data, classifier, protocol), then per dataset the
 * val-selected settings' test scores per model and metric with bootstrap intervals and the real-data reference, the
 * expected best score against the number of settings tried, links to the figures, and the comparison with the
 * paper (paper-spec §7: qualitative statements only — no number from the paper could be verified, and the report
 * says so instead of inventing one). Every number has formatNumber's four significant digits; every link is
 * relative to the README and stays inside results/<sweep>/; no path of the machine is printed.
 */
import path from 'node:path';
import { TAGS } from '../tracking/run-record.js';
import { tableBudgets } from './expected-max.js';
import { cell, formatInterval, formatMeanStd, formatNumber } from './format.js';
import { formatValues, protocolRows } from './protocol.js';
import { realReference } from './reference.js';
import { budgetLines, classifierLines, dataLines } from './sections.js';
import { BOOTSTRAP, mean } from './stats.js';
import { orderDatasets, orderModels, primarySet, topRuns } from './select.js';
import type { ExpectedMaxCurve, FigureFiles, ReportRun, TopSet } from './types.js';

export { storeLabel } from './sections.js';

export interface ReadmeInput {
  sweep: string;
  /** the tracking store as the README names it (no machine path: see storeLabel) */
  store: string;
  generatedAt: Date;
  k: number;
  runs: readonly ReportRun[];
  topSets: readonly TopSet[];
  expectedMax: readonly ExpectedMaxCurve[];
  figures: readonly FigureFiles[];
  /** the folder README.md is written to (figure links are relative to it) */
  dir: string;
  warnings: readonly string[];
  /** whether the figures are also logged to the sweep's report run */
  reportRun: boolean;
  /** whether the folder holds FINDINGS_FILE, the hand-written reading of these results */
  hasFindings: boolean;
}

/** The one file of a results folder written by a person (what the results show); plots never writes it. */
export const FINDINGS_FILE = 'FINDINGS.md';

/** The header of the per-dataset table; tests parse rows by these columns. */
export function tableHeader(k: number): string[] {
  return [
    'model',
    'metric',
    'better',
    'best: test',
    `best: 95% CI (bootstrap over seeds, ${BOOTSTRAP.resamples})`,
    'best: val mean ± seed std (seeds)',
    'best setting (run)',
    `top-${k}: test mean ± std`,
    `top-${k}: 95% CI (bootstrap over settings, ${BOOTSTRAP.resamples})`,
    'settings',
    'finished / runs',
  ];
}

function statusCounts(runs: readonly ReportRun[]): string {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

function rel(dir: string, file: string): string {
  return path.relative(dir, file).split(path.sep).join('/');
}

function figureLinks(dir: string, figures: readonly FigureFiles[]): string[] {
  return figures.map((f) => {
    const extra = [f.svg ? `[svg](${rel(dir, f.svg)})` : '', f.vegaLite ? `[Vega-Lite](${rel(dir, f.vegaLite)})` : '']
      .filter(Boolean)
      .join(' · ');
    return `- **${f.title}** — [png](${rel(dir, f.png)})${extra ? ` · ${extra}` : ''}\n\n  ![${f.title}](${rel(dir, f.png)})`;
  });
}

function betterOf(s: TopSet): string {
  return s.closeTo ? `closer to ${s.closeTo}` : s.direction;
}

function setRow(model: string, s: TopSet, finished: string): string {
  const b = s.best;
  const cells = [
    cell(model),
    s.metric,
    betterOf(s),
    formatNumber(s.bestValue),
    formatInterval(s.bestInterval),
    `${formatMeanStd(b.val, b.valStd)} (${b.runs.length})`,
    `${cell(b.settingId)} (${cell(b.runs[0].runName)})`,
    formatMeanStd(s.mean, s.std),
    formatInterval(s.meanInterval),
    `${s.n} of ${s.ranked.length}`,
    finished,
  ];
  return `| ${cells.join(' | ')} |`;
}

function datasetTable(runs: readonly ReportRun[], sets: readonly TopSet[], k: number): string[] {
  const header = tableHeader(k);
  const dash = (n: number): string[] => Array.from({ length: n }, () => '—');
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const model of orderModels(runs.map((r) => r.model))) {
    const ofModel = runs.filter((r) => r.model === model);
    const finished = `${ofModel.filter((r) => r.status === 'FINISHED').length} / ${ofModel.length}`;
    const modelSets = sets.filter((s) => s.model === model);
    if (modelSets.length === 0)
      lines.push(`| ${[cell(model), ...dash(header.length - 3), '0', finished].join(' | ')} |`);
    for (const s of modelSets) lines.push(setRow(model, s, finished));
  }
  for (const metric of [...new Set(sets.map((s) => s.metric))]) {
    const ref = realReference(runs, metric);
    if (!ref) continue;
    const what = ref.source === 'definition' ? 'by definition' : `mean of ${ref.runs} runs' test/${metric}_real`;
    const cells = ['real data', metric, '', formatNumber(ref.value), '—', '—', what, ...dash(header.length - 7)];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

function expectedMaxTable(curves: readonly ExpectedMaxCurve[], sets: readonly TopSet[]): string[] {
  const out: string[] = [];
  for (const metric of [...new Set(curves.map((c) => c.metric))]) {
    const ofMetric = curves.filter((c) => c.metric === metric);
    const set = sets.find((s) => s.metric === metric);
    const N = Math.max(...ofMetric.map((c) => c.expected.length));
    const ns = tableBudgets(N);
    const what = set?.closeTo ? `test |${metric} − ${set.closeTo}|` : `test ${metric}`;
    out.push(`Expected ${what} of the val-best of n settings (mean ± std):`, '');
    out.push(`| model | ${ns.map((n) => `n = ${n}`).join(' | ')} |`, `| --- | ${ns.map(() => '---').join(' | ')} |`);
    for (const c of ofMetric) {
      const cells = ns.map((n) => (n <= c.expected.length ? formatMeanStd(c.expected[n - 1], c.std[n - 1]) : '—'));
      out.push(`| ${cell(c.model)} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out;
}

/** Models by their best setting's test value, in the ranking's direction (for MS-SSIM: closeness to real data). */
function byBestTest(sets: readonly TopSet[]): TopSet[] {
  const v = (s: TopSet): number => s.best.testRanking;
  return sets
    .filter((s) => Number.isFinite(v(s)))
    .sort((a, b) => (a.rankDirection === 'higher' ? v(b) - v(a) : v(a) - v(b)));
}

function rankingLine(sets: readonly TopSet[]): string {
  const sorted = byBestTest(sets);
  if (sorted.length === 0) return 'no test/ scores logged';
  const sep = sorted[0].rankDirection === 'higher' ? ' > ' : ' < ';
  return sorted.map((s) => `${s.model} (${formatNumber(s.bestValue)})`).join(sorted[0].closeTo ? ', then ' : sep);
}

/**
 * Generator updates per discriminator update (params n_g / n_d, as the sweep logs ModelHyperparameters):
 * where the sweep varied them, the mean ratio among a model's top runs against all its finished runs.
 */
function updateRatioEvidence(runs: readonly ReportRun[], topSets: readonly TopSet[]): string {
  const ratio = (r: ReportRun): number => Number(r.params['n_g']) / Number(r.params['n_d']);
  const parts: string[] = [];
  for (const d of orderDatasets(topSets.map((s) => s.dataset))) {
    for (const m of orderModels(topSets.filter((s) => s.dataset === d).map((s) => s.model))) {
      const finished = runs.filter(
        (r) => r.dataset === d && r.model === m && r.status === 'FINISHED' && Number.isFinite(ratio(r)),
      );
      if (new Set(finished.map(ratio)).size < 2) continue;
      const p = primarySet(topSets.filter((s) => s.dataset === d && s.model === m));
      if (!p) continue;
      const top = topRuns(p).filter((r) => Number.isFinite(ratio(r)));
      parts.push(
        `${d}/${m}: mean n_g/n_d ${formatNumber(mean(top.map(ratio)))} in the top-${p.k} by ${p.metric} vs ` +
          `${formatNumber(mean(finished.map(ratio)))} over all ${finished.length} finished runs`,
      );
    }
  }
  return parts.length ? parts.join('; ') : 'not tested: no model in this sweep varied n_g / n_d';
}

function comparisonSection(runs: readonly ReportRun[], topSets: readonly TopSet[]): string[] {
  const out: string[] = [
    '## Comparison with the paper',
    '',
    "**No numbers from the paper could be verified.** The paper's full text could not be retrieved when ganstudy was",
    'written (`paper-spec.md` §0 and §7): no value was read from its text, tables or figures, so this report puts no',
    'paper numbers beside ours. A recollected ImageNet-IS range of 6–7 on CIFAR-10 is unverified and is not used as a',
    'target. What paper-spec §7 does record are qualitative statements; here they are beside what these runs show.',
    '',
  ];
  const datasets = orderDatasets(topSets.map((s) => s.dataset));
  if (datasets.length === 0) {
    out.push('No finished run with a score: nothing to compare.', '');
    return out;
  }
  out.push('Our ranking of the models by the test value of their val-best setting (rank 1 first):', '');
  for (const d of datasets) {
    const ofD = topSets.filter((s) => s.dataset === d);
    for (const metric of [...new Set(ofD.map((s) => s.metric))]) {
      const sets = ofD.filter((s) => s.metric === metric);
      const better = sets[0].closeTo ? `closer to ${sets[0].closeTo} is better` : `${sets[0].direction} is better`;
      out.push(`- ${d}, ${metric} (${better}): ${rankingLine(sets)}`);
    }
  }
  out.push('');

  const alphaRanks: string[] = [];
  for (const d of datasets) {
    const ofD = topSets.filter((s) => s.dataset === d);
    for (const metric of [...new Set(ofD.map((s) => s.metric))]) {
      const sets = ofD.filter((s) => s.metric === metric);
      const sorted = byBestTest(sets);
      const i = sorted.findIndex((s) => s.model === 'alpha-gan');
      if (i >= 0) alphaRanks.push(`${d}/${metric}: ${i + 1} of ${sorted.length}`);
    }
  }
  const dcgan = runs.filter((r) => r.model === 'dcgan');
  const robustness = orderModels(runs.map((r) => r.model)).map((m) => {
    const of = runs.filter((r) => r.model === m);
    const fin = of.filter((r) => r.status === 'FINISHED').length;
    const diverged = of.filter((r) => r.tags[TAGS.divergedAtStep] !== undefined).length;
    return `${m} ${fin}/${of.length} finished${diverged ? `, ${diverged} diverged` : ''}`;
  });
  const msSsim = topSets.filter((s) => s.metric === 'ms_ssim');
  out.push(
    '| paper-spec §7 statement | source | these runs |',
    '| --- | --- | --- |',
    `| α-GAN is competitive with the baselines | [C] abstract | ${
      alphaRanks.length ? `α-GAN's rank by best test value: ${alphaRanks.join('; ')}` : 'no α-GAN run with a score'
    } |`,
    `| DCGAN (with enough capacity) was robust and showed no obvious mode collapse | [S] paper notes | ${
      dcgan.length ? `runs finished: ${robustness.join('; ')}` : 'no DCGAN runs'
    }${
      msSsim.length
        ? `; top-k mean test MS-SSIM of samples (higher = less diverse): ` +
          msSsim.map((s) => `${s.dataset}/${s.model} ${formatNumber(s.mean)}`).join(', ')
        : ''
    } |`,
    `| more generator than discriminator updates per step helped | [S] paper notes | ${updateRatioEvidence(runs, topSets)} |`,
    '',
  );
  return out;
}

function rankingRules(k: number): string[] {
  return [
    '## How settings are ranked',
    '',
    'Selection never sees the test split. A *setting* is one hyperparameter setting (param `setting_id`); its',
    'trials differ by seed. Per (dataset, model, metric), each FINISHED seed is scored on its `val/<metric>` at the',
    `checkpoint it selected (tag \`ganstudy.selected_step\`), by the metric's ranking value (\`RANKING\`,`,
    "metrics/protocol.ts: the raw score, except MS-SSIM, ranked by closeness to the real data's, |ms_ssim −",
    "ms_ssim_real|); a setting's value is the mean over its seeds, and settings are ranked by it (ties: best seed's",
    `run name, then setting id). *best* is rank 1; the top-${k} are ranks 1…${k} (fewer when fewer settings).`,
    'The tables and figures publish the `test/<metric>` scores of those settings (mean over seeds): *best: test*,',
    `and the top-${k} mean ± sample std (n − 1) over the settings. The 95% intervals are percentile bootstraps of`,
    `the mean (${BOOTSTRAP.resamples} resamples, RNG seed ${BOOTSTRAP.seed}): over the best setting's seeds, and over`,
    `the top-${k} settings; a single seed or setting gives a zero-width interval. The runs of the top-${k} settings`,
    `carry the MLflow tag \`${TAGS.top10Prefix}<metric> = true\``,
    `(filter with \`tags."${TAGS.top10Prefix}<metric>" = "true"\`).`,
    'Runs that share a trial id count once (the FINISHED one, the latest). Failed runs are counted in',
    '*finished / runs* and never ranked. *real data* rows hold the reference each score is read against.',
    '',
  ];
}

function datasetSection(input: ReadmeInput, dataset: string): string[] {
  const { k, figures, dir } = input;
  const ofD = input.runs.filter((r) => r.dataset === dataset);
  const finished = ofD.filter((r) => r.status === 'FINISHED');
  const sets = input.topSets.filter((s) => s.dataset === dataset);
  const lines = [`## Dataset: ${dataset}`, ''];
  lines.push(...datasetTable(ofD, sets, k), '');
  lines.push(`### Data, budget and classifier (${dataset})`, '');
  lines.push(...dataLines(dataset, finished.length ? finished : ofD), ...budgetLines(ofD));
  lines.push(...classifierLines(dataset, finished, [...new Set(sets.map((s) => s.metric))]), '');
  lines.push(`### Protocol (${dataset}, from the finished runs' params and tags)`, '');
  lines.push('| setting | value |', '| --- | --- |');
  for (const row of protocolRows(finished))
    lines.push(`| ${cell(row.setting)} | ${cell(formatValues(row.values, finished.length))} |`);
  lines.push('');
  const curves = input.expectedMax.filter((c) => c.dataset === dataset);
  if (curves.length > 0) {
    lines.push(`### Expected best score against settings tried (${dataset})`, '');
    lines.push(
      'Dodge et al. 2019 ("Show Your Work"): drawing n of the N settings uniformly with replacement and keeping the',
      "val-best, the expected test score and its std (exact, from the settings' val order and test scores).",
      '',
    );
    lines.push(...expectedMaxTable(curves, sets));
  }
  const figs = figures.filter((f) => f.dataset === dataset);
  lines.push(`### Figures (${dataset})`, '');
  lines.push(...(figs.length ? figureLinks(dir, figs) : ['No figures: no finished run with a score.']), '');
  return lines;
}

export function renderReadme(input: ReadmeInput): string {
  const { sweep, k, runs, topSets } = input;
  const where = input.reportRun
    ? "The figures are also artifacts of the sweep's report run (tag `ganstudy.report=true`)."
    : 'Generated with `--no-write`: the store was only read (no tags, no report run).';
  const lines: string[] = [
    `# ${sweep}: model comparison`,
    '',
    `Generated by \`ganstudy plots\` from the tracking store ${input.store} at ${input.generatedAt.toISOString()}.`,
    `${where} Regenerate with \`npm run plots -- --sweep ${sweep}\`; nothing in this folder is edited by hand`,
    `except ${FINDINGS_FILE}, and no metric is recomputed here.`,
    '',
    ...(input.hasFindings
      ? [
          `**What this shows:** [${FINDINGS_FILE}](${FINDINGS_FILE}) (written by hand from these tables and figures).`,
          '',
        ]
      : []),
    `Runs: ${runs.length} (${statusCounts(runs) || 'none'}).`,
    '',
    ...input.warnings.map((w) => `> **Warning:** ${w}.\n`),
    ...rankingRules(k),
  ];
  for (const dataset of orderDatasets(runs.map((r) => r.dataset))) lines.push(...datasetSection(input, dataset));
  lines.push(...comparisonSection(runs, topSets));
  return lines.join('\n');
}
