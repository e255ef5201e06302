/**
 * The names a trial logs its scores and its selection under (shared/design.md, "What one run holds").
 * TODO(run-record): these belong in src/tracking/run-record.ts; point the imports there when it lands.
 */

/** the splits a trial scores against: `val/` selects (checkpoint, refine, best_*), `test/` reports what was selected */
export type ScoreSplit = 'val' | 'test';

// TODO(run-record)
export const scoreKey = (split: ScoreSplit, metric: string): string => `${split}/${metric}`;
// TODO(run-record)
export const bestKey = (metric: string): string => `best_${metric}`;
// TODO(run-record)
export const bestStepKey = (metric: string): string => `best_${metric}_step`;

// TODO(run-record)
export const SELECTION_TAGS = {
  /** the evaluation step whose checkpoint the test scores, samples.png and selected_checkpoint/ come from */
  selectedStep: 'ganstudy.selected_step',
  /** the validation score that chose it (the sweep's refine metric, else the trial's first by SELECTION_ORDER) */
  selectionMetric: 'ganstudy.selection_metric',
  /** sample seeds of the validation and test evaluations (always different: the test draws fresh samples) */
  valSampleSeed: 'ganstudy.val_sample_seed',
  testSampleSeed: 'ganstudy.test_sample_seed',
} as const;
