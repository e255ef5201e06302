/**
 * Top-k selection per (dataset, model, metric), as paper-spec §4 decides: FINISHED runs ranked by the metric's
 * final value, best first; each metric has its own top-k, so the sets may differ between metrics.
 * Directions come only from SCORE_DIRECTIONS (metrics/protocol.ts).
 */
import { SCORE_DIRECTIONS } from '../../metrics/protocol.js';
import { MODEL_NAMES } from '../models/types.js';
import { mean, sampleStd } from './stats.js';
import type { Direction, ReportRun, TopSet } from './types.js';

export function directionOf(metric: string): Direction | undefined {
  return Object.prototype.hasOwnProperty.call(SCORE_DIRECTIONS, metric) ? SCORE_DIRECTIONS[metric] : undefined;
}

/** Metrics that can be ranked, in SCORE_DIRECTIONS order (which the tables and figures follow). */
export function rankableMetrics(runs: readonly ReportRun[]): string[] {
  const present = new Set<string>();
  for (const r of runs) for (const m of Object.keys(r.scores)) present.add(m);
  return Object.keys(SCORE_DIRECTIONS).filter((m) => present.has(m));
}

/** Code-unit order, not locale order, so the ranking is the same on every machine. */
function cmpString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Best first by the metric; ties broken by run name, then run id (deterministic). */
export function compareRuns(metric: string, direction: Direction): (a: ReportRun, b: ReportRun) => number {
  return (a, b) => {
    const va = a.scores[metric];
    const vb = b.scores[metric];
    if (va !== vb) return direction === 'higher' ? vb - va : va - vb;
    return cmpString(a.runName, b.runName) || cmpString(a.runId, b.runId);
  };
}

/** Models in the study's order (MODEL_NAMES), then any others alphabetically. */
export function orderModels(models: Iterable<string>): string[] {
  const set = new Set(models);
  const known = MODEL_NAMES.filter((m) => set.has(m));
  const rest = [...set].filter((m) => !(MODEL_NAMES as readonly string[]).includes(m)).sort(cmpString);
  return [...known, ...rest];
}

export function orderDatasets(datasets: Iterable<string>): string[] {
  return [...new Set(datasets)].sort(cmpString);
}

export function rankGroup(runs: readonly ReportRun[], metric: string, k: number): TopSet | undefined {
  const direction = directionOf(metric);
  if (!direction) throw new Error(`metric '${metric}' has no direction in SCORE_DIRECTIONS (metrics/protocol.ts); add it there`);
  const eligible = runs.filter((r) => r.status === 'FINISHED' && Number.isFinite(r.scores[metric]));
  if (eligible.length === 0) return undefined;
  const first = eligible[0];
  const ranked = [...eligible].sort(compareRuns(metric, direction));
  const top = ranked.slice(0, k);
  const values = top.map((r) => r.scores[metric]);
  return {
    dataset: first.dataset,
    model: first.model,
    metric,
    direction,
    k,
    ranked,
    top,
    best: ranked[0],
    bestValue: ranked[0].scores[metric],
    mean: mean(values),
    std: sampleStd(values),
    n: top.length,
  };
}

/** Every (dataset, model, metric) that has at least one FINISHED run with the metric, in table order. */
export function selectTopSets(runs: readonly ReportRun[], k: number): TopSet[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const metrics = rankableMetrics(runs);
  const out: TopSet[] = [];
  for (const dataset of orderDatasets(runs.map((r) => r.dataset))) {
    const ofDataset = runs.filter((r) => r.dataset === dataset);
    for (const model of orderModels(ofDataset.map((r) => r.model))) {
      const group = ofDataset.filter((r) => r.model === model);
      for (const metric of metrics) {
        const set = rankGroup(group, metric, k);
        if (set) out.push(set);
      }
    }
  }
  return out;
}

/** Which metric picks a model's "top runs" for the curves and its "best run" for the sample grid. */
export const PRIMARY_METRIC_ORDER = ['critic_w', 'fid', 'inception_score', 'kid', 'ms_ssim'] as const;

/** The top set of the first metric in PRIMARY_METRIC_ORDER (or `preferred`) that the sets hold. */
export function primarySet(sets: readonly TopSet[], preferred?: string): TopSet | undefined {
  const order = preferred ? [preferred, ...PRIMARY_METRIC_ORDER] : [...PRIMARY_METRIC_ORDER];
  for (const m of order) {
    const s = sets.find((x) => x.metric === m);
    if (s) return s;
  }
  return sets[0];
}
