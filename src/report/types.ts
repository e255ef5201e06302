/**
 * What the report works on: runs read back from the tracking store, reduced to what ranking and plotting need.
 * Nothing here is recomputed from images — the report only reads what the trials logged.
 */
import type { RunStatus } from '../tracking/types.js';

/** Tag that marks the run the report itself logs its figures to; such runs are never ranked. */
export const REPORT_TAG = 'ganstudy.report';
/** Final scores are logged as `eval/<metric>`; training curves as `train/<loss>`. */
export const EVAL_PREFIX = 'eval/';
export const TRAIN_PREFIX = 'train/';

export type Direction = 'higher' | 'lower';

export interface ReportRun {
  runId: string;
  runName: string;
  experimentId: string;
  status: RunStatus;
  dataset: string;
  model: string;
  /** final scores by metric name (without the `eval/` prefix); non-finite values are left out */
  scores: Record<string, number>;
  /** names of the `train/` curves the run holds (without the prefix) */
  trainKeys: string[];
  params: Record<string, string>;
  tags: Record<string, string>;
}

/** The ranking of one (dataset, model, metric): every FINISHED run that has the metric, best first. */
export interface TopSet {
  dataset: string;
  model: string;
  metric: string;
  direction: Direction;
  k: number;
  ranked: ReportRun[];
  /** ranks 1..k (fewer when fewer runs) */
  top: ReportRun[];
  best: ReportRun;
  bestValue: number;
  /** over the top set: mean and sample standard deviation (n − 1; 0 when n = 1) */
  mean: number;
  std: number;
  n: number;
}

export interface FigureFiles {
  /** what the figure shows, e.g. `colormnist critic_w` */
  title: string;
  kind: 'metric' | 'curves' | 'samples';
  dataset: string;
  png: string;
  svg?: string;
  vegaLite?: string;
  /** pixel size of the PNG */
  width: number;
  height: number;
}

export interface TagChanges {
  set: { runId: string; key: string }[];
  removed: { runId: string; key: string }[];
}

export interface SweepReport {
  sweep: string;
  experimentId: string;
  dir: string;
  readme: string;
  figures: FigureFiles[];
  /** the run in the sweep's experiment that holds the figures as artifacts */
  reportRunId: string;
  topSets: TopSet[];
  tagChanges: TagChanges;
  runs: { total: number; finished: number; ignored: number };
  elapsedMs: number;
}

export interface ReportSummary {
  sweeps: SweepReport[];
  elapsedMs: number;
}
