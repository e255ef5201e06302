/**
 * What the report works on: runs read back from the tracking store, reduced to what ranking and plotting need.
 * Nothing here is recomputed from images — the report only reads what the trials logged.
 *
 * Selection never sees the test split: settings are ranked on `val/<metric>`, and the numbers the tables and
 * figures publish are the `test/<metric>` scores of what was selected (shared/design.md, "What one run holds").
 */
import { METRIC_KEYS, PARAM_KEYS, TAGS } from '../tracking/run-record.js';
import type { RunStatus } from '../tracking/types.js';

/** Tag that marks the run the report itself logs its figures to; such runs are never ranked. */
export const REPORT_TAG = TAGS.report;
/** Selection scores (every evaluation step), held-out scores (once, the selected checkpoint), training curves. */
export const VAL_PREFIX = METRIC_KEYS.val('');
export const TEST_PREFIX = METRIC_KEYS.test('');
export const TRAIN_PREFIX = METRIC_KEYS.train('');
/** the checkpoint a trial selected on val/ (its test/ scores are of that step) */
export const SELECTED_STEP_TAG = TAGS.selectedStep;
export const SELECTION_METRIC_TAG = TAGS.selectionMetric;
/** param shared by the trials (seeds) of one hyperparameter setting */
export const SETTING_PARAM = PARAM_KEYS.settingId;
/** wall time of a whole trial, logged once when it ends */
export const TRIAL_SECONDS_METRIC = METRIC_KEYS.perf('trial_seconds');

export type Direction = 'higher' | 'lower';

export interface ReportRun {
  runId: string;
  runName: string;
  experimentId: string;
  status: RunStatus;
  /** ms since epoch (deduplication keeps the latest of a trial id) */
  startTime: number;
  dataset: string;
  model: string;
  /** `ganstudy.trial_id`; undefined for runs logged without one */
  trialId: string | undefined;
  /** param `setting_id`; a run without one is a setting of its own (its trial id, else its run id) */
  settingId: string;
  /** selection scores by name without the prefix (at the selected step when the run says which), `_real` included */
  val: Record<string, number>;
  /** held-out scores of the selected checkpoint, `_real` references included; non-finite values are left out */
  test: Record<string, number>;
  /** `perf/trial_seconds` when logged */
  trialSeconds: number | undefined;
  /** names of the `train/` curves the run holds (without the prefix) */
  trainKeys: string[];
  params: Record<string, string>;
  tags: Record<string, string>;
}

/** One hyperparameter setting on one metric: its seeds (FINISHED runs with a val ranking value), scored. */
export interface SettingScore {
  settingId: string;
  /** the seeds, best val ranking value first */
  runs: ReportRun[];
  /** per seed: rankingValue on val/ (what selects), and the test/ value published (NaN when not logged) */
  valSeeds: number[];
  testSeeds: number[];
  /** mean and sample std over seeds of the val ranking value */
  val: number;
  valStd: number;
  /** mean over the seeds that logged it of the raw test/ score (NaN when none did) */
  test: number;
  /** mean over seeds of rankingValue on test/ (the raw score except for MS-SSIM: closeness to real data) */
  testRanking: number;
}

/** A percentile bootstrap interval; undefined bounds when there is nothing to resample. */
export interface Interval {
  lo: number;
  hi: number;
}

/** The ranking of one (dataset, model, metric): every setting with a val score, best first by val. */
export interface TopSet {
  dataset: string;
  model: string;
  metric: string;
  /** direction of the raw score (SCORE_DIRECTIONS) */
  direction: Direction;
  /** direction of the ranking value (RANKING); MS-SSIM ranks by closeness to the real data's */
  rankDirection: Direction;
  /** set when the ranking value is closeness to a reference (MS-SSIM: ms_ssim_real) */
  closeTo: string | undefined;
  k: number;
  ranked: SettingScore[];
  /** ranks 1..k (fewer when fewer settings) */
  top: SettingScore[];
  best: SettingScore;
  /** the best setting's test/ value (mean over its seeds) and its bootstrap interval over seeds */
  bestValue: number;
  bestInterval: Interval | undefined;
  /** over the top settings' test/ values: mean, sample std (n − 1; 0 when n = 1), bootstrap interval over settings */
  mean: number;
  std: number;
  meanInterval: Interval | undefined;
  n: number;
}

/** Dodge et al. (2019): expected test score of the val-best among n settings drawn, n = 1..N. */
export interface ExpectedMaxCurve {
  dataset: string;
  model: string;
  metric: string;
  /** index n − 1: E and std for n settings drawn */
  expected: number[];
  std: number[];
}

export interface FigureFiles {
  /** what the figure shows, e.g. `colormnist critic_w` */
  title: string;
  kind: 'metric' | 'curves' | 'samples' | 'expected-max';
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
  /** the run in the sweep's experiment that holds the figures as artifacts (undefined with write: false) */
  reportRunId: string | undefined;
  topSets: TopSet[];
  expectedMax: ExpectedMaxCurve[];
  /** the tag changes made (or, with write: false, the ones that would be made) */
  tagChanges: TagChanges;
  runs: { total: number; finished: number; ignored: number; duplicates: number };
  warnings: string[];
  elapsedMs: number;
}

export interface ReportSummary {
  sweeps: SweepReport[];
  elapsedMs: number;
}
