/**
 * Top-k selection per (dataset, model, metric), as paper-spec §"selection" decides: the trials of one
 * hyperparameter setting (param `setting_id`; seeds differ) are one entry; settings are ranked by the mean over
 * their FINISHED seeds of the metric's validation ranking value (`rankingValue` on `val/`: the raw score, or for
 * MS-SSIM the closeness to the real data's), best first. The test split never takes part in a choice: the tables
 * publish the `test/` scores of what val selected. Each metric has its own top-k, so the sets may differ.
 * Directions come only from metrics/protocol.ts (SCORE_DIRECTIONS for a raw score, RANKING for ranking).
 */
import { RANKING, rankingValue, SCORE_DIRECTIONS } from '../../metrics/protocol.js';
import { MODEL_NAMES } from '../models/types.js';
import { BOOTSTRAP, bootstrapMeanInterval, mean, sampleStd } from './stats.js';
import type { Direction, ReportRun, SettingScore, TopSet } from './types.js';

export function directionOf(metric: string): Direction | undefined {
  return Object.hasOwn(SCORE_DIRECTIONS, metric) ? SCORE_DIRECTIONS[metric] : undefined;
}

/** Metrics that can be ranked (a RANKING rule and a val/ score on some run), in SCORE_DIRECTIONS order. */
export function rankableMetrics(runs: readonly ReportRun[]): string[] {
  const present = new Set<string>();
  for (const r of runs) for (const m of Object.keys(r.val)) present.add(m);
  return Object.keys(SCORE_DIRECTIONS).filter((m) => present.has(m) && RANKING[m] !== undefined);
}

/** Code-unit order, not locale order, so the ranking is the same on every machine. */
export function cmpString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Best first by a value in a direction; ties broken by the given names (deterministic). */
function byValue(direction: Direction, va: number, vb: number): number {
  return va === vb ? 0 : direction === 'higher' ? vb - va : va - vb;
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

function finiteOrNaN(v: number | null | undefined): number {
  return v === null || v === undefined || !Number.isFinite(v) ? Number.NaN : v;
}

/** A setting's seeds scored on one metric; undefined when no FINISHED seed has a val ranking value. */
export function scoreSetting(settingId: string, seeds: readonly ReportRun[], metric: string): SettingScore | undefined {
  const rule = RANKING[metric];
  const scored = seeds
    .filter((r) => r.status === 'FINISHED')
    .map((r) => ({ run: r, val: rankingValue(metric, r.val) }))
    .filter((x): x is { run: ReportRun; val: number } => x.val !== null);
  if (scored.length === 0) return undefined;
  scored.sort(
    (a, b) =>
      byValue(rule.direction, a.val, b.val) ||
      cmpString(a.run.runName, b.run.runName) ||
      cmpString(a.run.runId, b.run.runId),
  );
  const valSeeds = scored.map((x) => x.val);
  const testSeeds = scored.map((x) => finiteOrNaN(x.run.test[metric]));
  const testRanking = scored.map((x) => finiteOrNaN(rankingValue(metric, x.run.test)));
  const present = (xs: number[]): number[] => xs.filter((x) => Number.isFinite(x));
  return {
    settingId,
    runs: scored.map((x) => x.run),
    valSeeds,
    testSeeds,
    val: mean(valSeeds),
    valStd: sampleStd(valSeeds),
    test: mean(present(testSeeds)),
    testRanking: mean(present(testRanking)),
  };
}

/** Best first by the mean val ranking value; ties broken by the best seed's run name, then the setting id. */
export function compareSettings(direction: Direction): (a: SettingScore, b: SettingScore) => number {
  return (a, b) =>
    byValue(direction, a.val, b.val) ||
    cmpString(a.runs[0].runName, b.runs[0].runName) ||
    cmpString(a.settingId, b.settingId);
}

/** The settings of one (dataset, model) group, by setting id. */
export function groupSettings(runs: readonly ReportRun[]): Map<string, ReportRun[]> {
  const by = new Map<string, ReportRun[]>();
  for (const r of runs) by.set(r.settingId, [...(by.get(r.settingId) ?? []), r]);
  return by;
}

export function rankGroup(runs: readonly ReportRun[], metric: string, k: number): TopSet | undefined {
  const direction = directionOf(metric);
  const rule = RANKING[metric];
  if (!direction || !rule) {
    throw new Error(`metric '${metric}' has no direction or ranking rule in metrics/protocol.ts; add it there`);
  }
  const ranked: SettingScore[] = [];
  for (const [id, seeds] of groupSettings(runs)) {
    const s = scoreSetting(id, seeds, metric);
    if (s) ranked.push(s);
  }
  if (ranked.length === 0) return undefined;
  ranked.sort(compareSettings(rule.direction));
  const top = ranked.slice(0, k);
  const topTest = top.map((s) => s.test).filter((x) => Number.isFinite(x));
  const best = ranked[0];
  return {
    dataset: runs[0].dataset,
    model: runs[0].model,
    metric,
    direction,
    rankDirection: rule.direction,
    closeTo: rule.closeTo,
    k,
    ranked,
    top,
    best,
    bestValue: best.test,
    bestInterval: bootstrapMeanInterval(best.testSeeds, BOOTSTRAP),
    mean: mean(topTest),
    std: sampleStd(topTest),
    meanInterval: bootstrapMeanInterval(topTest, BOOTSTRAP),
    n: top.length,
  };
}

/** Every (dataset, model, metric) that has at least one setting with a val score, in table order. */
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
export const PRIMARY_METRIC_ORDER = ['critic_w', 'fid', 'inception_score', 'kid', 'ms_ssim', 'modes_covered'] as const;

/** The top set of the first metric in PRIMARY_METRIC_ORDER (or `preferred`) that the sets hold. */
export function primarySet(sets: readonly TopSet[], preferred?: string): TopSet | undefined {
  const order = preferred ? [preferred, ...PRIMARY_METRIC_ORDER] : [...PRIMARY_METRIC_ORDER];
  for (const m of order) {
    const s = sets.find((x) => x.metric === m);
    if (s) return s;
  }
  return sets[0];
}

/** The runs of a top set's settings (every seed): what carries the `ganstudy.top10.<metric>` tag. */
export function topRuns(set: TopSet): ReportRun[] {
  return set.top.flatMap((s) => s.runs);
}
