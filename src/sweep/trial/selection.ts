/**
 * Which evaluation step a trial selects, and the best validation score of each metric. Only validation scores
 * select (paper-spec "selection"): the test split scores what was selected, once, and never feeds back.
 * Ranking follows metrics/protocol.ts (RANKING, rankingValue): MS-SSIM ranks by closeness to the real data's.
 */
import { createHash } from 'node:crypto';
import { RANKING, rankingValue, type MetricName } from '../../../metrics/protocol.js';
import type { Evaluation } from './types.js';

/** A trial without a refine metric selects on the first of these it computes. */
export const SELECTION_ORDER: readonly MetricName[] = [
  'inception_score',
  'fid',
  'critic_w',
  'ms_ssim',
  'modes_covered',
];

/** The sweep's refine metric if it has one, else the first of the trial's metrics in SELECTION_ORDER. */
export function selectionMetricFor(metrics: readonly MetricName[], refineMetric?: MetricName): MetricName {
  if (refineMetric !== undefined) return refineMetric;
  const first = SELECTION_ORDER.find((m) => metrics.includes(m));
  if (!first)
    throw new Error(`no selection metric among [${metrics.join(', ')}]; known: ${SELECTION_ORDER.join(', ')}`);
  return first;
}

export interface EvaluationSeeds {
  /** the same at every validation step, so checkpoints are compared on the same latent draws */
  val: number;
  /** fresh samples and reference draws for the one test evaluation */
  test: number;
}

function derivedSeed(trialSeed: number, purpose: string): number {
  return createHash('sha256').update(`ganstudy/eval/${purpose}/${trialSeed}`).digest().readUInt32LE(0);
}

/** Sample seeds of a trial's validation and test evaluations, derived from its seed and always distinct. */
export function evaluationSeeds(trialSeed: number): EvaluationSeeds {
  const val = derivedSeed(trialSeed, 'val');
  const test = derivedSeed(trialSeed, 'test');
  return { val, test: test === val ? (test + 1) >>> 0 : test };
}

export interface BestScore {
  metric: string;
  step: number;
  /** the raw score at that step (what best_<metric> holds) */
  value: number;
  /** what it was ranked by (rankingValue) */
  ranking: number;
}

/** The evaluation that ranks best on `metric` (earliest on ties), or null when no step has a rankable score. */
export function bestEvaluation(evaluations: readonly Evaluation[], metric: string): BestScore | null {
  const rule = RANKING[metric];
  if (!rule) return null;
  let best: BestScore | null = null;
  for (const e of [...evaluations].sort((a, b) => a.step - b.step)) {
    const ranking = rankingValue(metric, e.scores);
    if (ranking === null) continue;
    const better = best === null || (rule.direction === 'higher' ? ranking > best.ranking : ranking < best.ranking);
    if (better) best = { metric, step: e.step, value: e.scores[metric], ranking };
  }
  return best;
}

/** best_<metric> for every ranked metric the evaluations hold, each chosen on its own. */
export function bestPerMetric(evaluations: readonly Evaluation[]): BestScore[] {
  const metrics = new Set(evaluations.flatMap((e) => Object.keys(e.scores)).filter((k) => RANKING[k] !== undefined));
  return [...metrics].sort().flatMap((m) => bestEvaluation(evaluations, m) ?? []);
}

/** Adds or replaces the evaluation of a step (a resumed trial may score a step again), in step order. */
export function withEvaluation(evaluations: readonly Evaluation[], e: Evaluation): Evaluation[] {
  return [...evaluations.filter((x) => x.step !== e.step), e].sort((a, b) => a.step - b.step);
}
