/**
 * `results/<sweep>/README.md`: per dataset, best value and top-k mean ± std per model and metric, the protocol
 * the runs logged, links to the figures, and the comparison with the paper (paper-spec §7: qualitative
 * statements only — no number from the paper could be verified, and the report says so instead of inventing one).
 */
import path from 'node:path';
import { TAGS } from '../tracking/types.js';
import { cell, formatMeanStd, formatNumber } from './format.js';
import { formatValues, protocolRows } from './protocol.js';
import { mean } from './stats.js';
import { orderDatasets, orderModels, primarySet } from './select.js';
import type { FigureFiles, ReportRun, TopSet } from './types.js';

export interface ReadmeInput {
  sweep: string;
  trackerUri: string;
  reportRunId: string;
  generatedAt: Date;
  k: number;
  runs: readonly ReportRun[];
  topSets: readonly TopSet[];
  figures: readonly FigureFiles[];
  /** the folder README.md is written to (figure links are relative to it) */
  dir: string;
}

/** The header of the per-dataset table; tests parse rows by these columns. */
export function tableHeader(k: number): string[] {
  return ['model', 'metric', 'better', 'best', 'best run', `top-${k} mean ± std`, 'n', 'finished / runs'];
}

function statusCounts(runs: readonly ReportRun[]): string {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].sort().map(([s, n]) => `${n} ${s}`).join(', ');
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

function datasetTable(runs: readonly ReportRun[], sets: readonly TopSet[], k: number): string[] {
  const header = tableHeader(k);
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const model of orderModels(runs.map((r) => r.model))) {
    const ofModel = runs.filter((r) => r.model === model);
    const finished = ofModel.filter((r) => r.status === 'FINISHED').length;
    const modelSets = sets.filter((s) => s.model === model);
    if (modelSets.length === 0) {
      lines.push(`| ${cell(model)} | — | — | — | — | — | 0 | ${finished} / ${ofModel.length} |`);
      continue;
    }
    for (const s of modelSets) {
      lines.push(
        `| ${cell(model)} | ${s.metric} | ${s.direction} | ${formatNumber(s.bestValue)} | ${cell(s.best.runName)} | ` +
          `${formatMeanStd(s.mean, s.std)} | ${s.n} | ${finished} / ${ofModel.length} |`,
      );
    }
  }
  return lines;
}

function rankingLine(sets: readonly TopSet[]): string {
  const sorted = [...sets].sort((a, b) => (a.direction === 'higher' ? b.bestValue - a.bestValue : a.bestValue - b.bestValue));
  return sorted.map((s) => `${s.model} (${formatNumber(s.bestValue)})`).join(sorted[0]?.direction === 'higher' ? ' > ' : ' < ');
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
      const finished = runs.filter((r) => r.dataset === d && r.model === m && r.status === 'FINISHED' && Number.isFinite(ratio(r)));
      if (new Set(finished.map(ratio)).size < 2) continue;
      const p = primarySet(topSets.filter((s) => s.dataset === d && s.model === m));
      if (!p) continue;
      const top = p.top.filter((r) => Number.isFinite(ratio(r)));
      parts.push(`${d}/${m}: mean n_g/n_d ${formatNumber(mean(top.map(ratio)))} in the top-${p.k} by ${p.metric} vs ${formatNumber(mean(finished.map(ratio)))} over all ${finished.length} finished runs`);
    }
  }
  return parts.length ? parts.join('; ') : 'not tested: no model in this sweep varied n_g / n_d';
}

function comparisonSection(runs: readonly ReportRun[], topSets: readonly TopSet[]): string[] {
  const out: string[] = [
    '## Comparison with the paper',
    '',
    '**No numbers from the paper could be verified.** The paper\'s full text could not be retrieved when ganstudy was',
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
  out.push('Our ranking of the models by best value (rank 1 first):', '');
  for (const d of datasets) {
    const ofD = topSets.filter((s) => s.dataset === d);
    for (const metric of [...new Set(ofD.map((s) => s.metric))]) {
      const sets = ofD.filter((s) => s.metric === metric);
      out.push(`- ${d}, ${metric} (${sets[0].direction} is better): ${rankingLine(sets)}`);
    }
  }
  out.push('');

  const alphaRanks: string[] = [];
  for (const d of datasets) {
    const ofD = topSets.filter((s) => s.dataset === d);
    for (const metric of [...new Set(ofD.map((s) => s.metric))]) {
      const sets = ofD.filter((s) => s.metric === metric);
      const sorted = [...sets].sort((a, b) => (a.direction === 'higher' ? b.bestValue - a.bestValue : a.bestValue - b.bestValue));
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
    `| α-GAN is competitive with the baselines | [C] abstract | ${alphaRanks.length ? `α-GAN's rank by best value: ${alphaRanks.join('; ')}` : 'no α-GAN run with a score'} |`,
    `| DCGAN (with enough capacity) was robust and showed no obvious mode collapse | [S] paper notes | ${
      dcgan.length ? `runs finished: ${robustness.join('; ')}` : 'no DCGAN runs'
    }${
      msSsim.length
        ? `; top-k mean MS-SSIM of samples (higher = less diverse): ${msSsim.map((s) => `${s.dataset}/${s.model} ${formatNumber(s.mean)}`).join(', ')}`
        : ''
    } |`,
    `| more generator than discriminator updates per step helped | [S] paper notes | ${updateRatioEvidence(runs, topSets)} |`,
    '',
  );
  return out;
}

export function renderReadme(input: ReadmeInput): string {
  const { sweep, k, runs, topSets, figures, dir } = input;
  const lines: string[] = [
    `# ${sweep}: model comparison`,
    '',
    `Generated by \`ganstudy plots\` from the tracking store \`${input.trackerUri}\` at ${input.generatedAt.toISOString()}`,
    `(report run \`${input.reportRunId}\`, which holds these figures as artifacts). Regenerate with`,
    `\`npm run plots -- --sweep ${sweep}\`; nothing in this folder is edited by hand, and no metric is recomputed here.`,
    '',
    `Runs: ${runs.length} (${statusCounts(runs) || 'none'}).`,
    '',
    '## How runs are ranked',
    '',
    `Per (dataset, model, metric): the FINISHED runs with a final \`eval/<metric>\` value, ranked by that value in the`,
    `metric's direction (\`SCORE_DIRECTIONS\`, metrics/protocol.ts); ties go to the smaller run name, then run id.`,
    `*best* is rank 1; the top-${k} are ranks 1…${k} (fewer when fewer runs), so each metric has its own top set.`,
    `mean ± std are over the top-${k}; std is the sample standard deviation (n − 1; 0 when n = 1); n is the`,
    `top-set size. The chosen runs carry the MLflow tag \`${TAGS.top10Prefix}<metric> = true\`: in the MLflow UI, filter with`,
    `\`tags."${TAGS.top10Prefix}<metric>" = "true"\`. Failed runs are counted in *finished / runs* and never ranked.`,
    '',
  ];
  for (const dataset of orderDatasets(runs.map((r) => r.dataset))) {
    const ofD = runs.filter((r) => r.dataset === dataset);
    const finished = ofD.filter((r) => r.status === 'FINISHED');
    lines.push(`## Dataset: ${dataset}`, '');
    lines.push(...datasetTable(ofD, topSets.filter((s) => s.dataset === dataset), k), '');
    lines.push(`### Protocol (${dataset}, from the finished runs' params and tags)`, '');
    lines.push('| setting | value |', '| --- | --- |');
    for (const row of protocolRows(finished)) lines.push(`| ${cell(row.setting)} | ${cell(formatValues(row.values, finished.length))} |`);
    lines.push('');
    const figs = figures.filter((f) => f.dataset === dataset);
    lines.push(`### Figures (${dataset})`, '');
    lines.push(...(figs.length ? figureLinks(dir, figs) : ['No figures: no finished run with a score.']), '');
  }
  lines.push(...comparisonSection(runs, topSets));
  return lines.join('\n');
}
