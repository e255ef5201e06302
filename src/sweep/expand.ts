/**
 * Expansion of a sweep spec into fully resolved trials: preset (experiments/) → sweep overrides → one point of
 * the grid × random-search samples × seeds. Deterministic: the same file always gives the same trials in the
 * same order with the same ids, whatever order the keys are written in, because
 *   - hyperparameter keys are visited in one fixed order (SPACE_KEYS),
 *   - random-search draws come from a RNG seeded by (searchSeed, dataset, model, grid point, sample), so adding a
 *     model or a dataset does not change the draws of the others.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  EvalProtocolSchema,
  RANKING,
  rankingValue,
  type EvalProtocol,
  type MetricName,
} from '../../metrics/protocol.js';
import { datasetSpecFor, getPreset } from '../../experiments/index.js';
import type { Budget } from '../../experiments/types.js';
import { DatasetSpecSchema, type DatasetSpec } from '../data/index.js';
import type { DatasetName } from '../data/types.js';
import type { ArchitectureConfig, ModelHyperparameters, ModelName } from '../models/types.js';
import type { Run } from '../tracking/types.js';
import { stepsFor, type TrainFor } from '../train/counters.js';
import { createRng } from '../util/rng.js';
import { formatPath, SweepSpecError, type HyperparameterSpace, type SweepSpec } from './define.js';
import { METRIC_KEYS } from '../tracking/run-record.js';
import { selectionMetricFor } from './trial/selection.js';
import { trialId } from './trial-id.js';

/** grid: the sweep's own trials; refine: the best settings again with new seeds */
export const TrialPhaseSchema = z.enum(['grid', 'refine']);
export type TrialPhase = z.infer<typeof TrialPhaseSchema>;
type SpaceKey = keyof HyperparameterSpace;

/** Every sweepable key, in the order names and draws use. */
export const SPACE_KEYS: readonly SpaceKey[] = [
  'lrG',
  'lrD',
  'beta1',
  'beta2',
  'batchSize',
  'nG',
  'nD',
  'gpLambda',
  'reconLambda',
  'latentLambda',
  'ageKlForm',
  'ageMu',
  'ageLambda',
  'zDim',
  'widthMultiplier',
];
const ARCH_KEYS: ReadonlySet<SpaceKey> = new Set<SpaceKey>(['zDim', 'widthMultiplier']);

/** Where dataset bytes live on this machine: not part of a trial's identity (other machines mount elsewhere). */
export const LOCATION_FIELDS: ReadonlySet<string> = new Set(['dir', 'mnistDir', 'cacheDir']);

/** What defines a trial's result: hashed into trialId. */
export interface TrialConfig {
  model: ModelName;
  dataset: DatasetName;
  arch: ArchitectureConfig;
  hp: ModelHyperparameters;
  steps: number;
  eval: EvalProtocol;
  /** sorted */
  metrics: MetricName[];
  seed: number;
  /** the dataset spec without location fields */
  data: Record<string, unknown>;
}

export interface Trial extends TrialConfig {
  /** position in its phase: `ganstudy trial <file> --index <index>` (with `--phase refine` for phase 2) */
  index: number;
  phase: TrialPhase;
  sweep: string;
  budget: Budget;
  /** how long the sweep asked to train; `steps` is this converted for the trial's model and schedule */
  trainFor: TrainFor;
  trialId: string;
  /** identity without the seed: the trials of one hyperparameter setting share it (refine ranks settings) */
  settingId: string;
  /** readable run name: alpha-gan/colormnist/lr_g=2e-4,recon_lambda=10,seed=1 */
  runName: string;
  /** the keys this sweep varies, with this trial's values (for names and the report) */
  varied: Record<string, number | string>;
  checkpointEvery: number;
  sampleEvery: number;
  logEvery: number;
  /** also evaluate every this many steps (null: only at the end) */
  evalEvery: number | null;
  /**
   * the validation score that selects the trial's checkpoint (the sweep's refine metric, else the first of its
   * metrics in SELECTION_ORDER); not part of trialId: it picks among the trained checkpoints, it does not train
   */
  selectionMetric: MetricName;
  /** the full dataset spec, locations included, as loadDataset takes it */
  datasetSpec: DatasetSpec;
}

type Value = number | string;
type Dist =
  | { dist: 'choice'; values: readonly Value[] }
  | { dist: 'uniform' | 'logUniform'; low: number; high: number };

function isDist(v: unknown): v is Dist {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'dist' in v;
}

/** 2e-4, 0.5, 10, 1.73e-4: short, exact enough to read, used in run names. */
export function formatValue(v: Value): string {
  if (typeof v === 'string') return v;
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential().replace('e+', 'e');
  return String(v);
}

export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

function seed32(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('/')).digest().readUInt32LE(0);
}

function draw(d: Dist, rng: ReturnType<typeof createRng>): Value {
  if (d.dist === 'choice') return d.values[rng.int(d.values.length)];
  const u = rng.next();
  // 4 significant digits: readable params and names, and the value hashed is the value trained with
  const raw =
    d.dist === 'uniform'
      ? d.low + u * (d.high - d.low)
      : Math.exp(Math.log(d.low) + u * (Math.log(d.high) - Math.log(d.low)));
  return Number(raw.toPrecision(4));
}

function cartesian(axes: [SpaceKey, readonly Value[]][]): Partial<Record<SpaceKey, Value>>[] {
  let points: Partial<Record<SpaceKey, Value>>[] = [{}];
  for (const [key, values] of axes) points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  return points;
}

function resolveDatasetSpec(spec: SweepSpec, dataset: DatasetName, label: string): DatasetSpec {
  const base = datasetSpecFor(dataset, spec.budget) as unknown as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base, ...(spec.data?.[dataset] ?? {}) };
  const dir = spec.dataDirs?.[dataset];
  if (dir !== undefined) merged[dataset === 'colormnist' ? 'mnistDir' : 'dir'] = dir;
  const parsed = DatasetSpecSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${label}: ${formatPath(['data', dataset, ...i.path])}: ${i.message}`);
    throw new SweepSpecError(lines.join('\n'));
  }
  return parsed.data;
}

function identityData(ds: DatasetSpec): Record<string, unknown> {
  return Object.fromEntries(Object.entries(ds).filter(([k, v]) => !LOCATION_FIELDS.has(k) && v !== undefined));
}

function buildTrial(spec: SweepSpec, base: TrialSetting, seed: number, phase: TrialPhase, index: number): Trial {
  const config: TrialConfig = {
    model: base.model,
    dataset: base.dataset,
    arch: base.arch,
    hp: base.hp,
    steps: base.steps,
    eval: base.eval,
    metrics: base.metrics,
    seed,
    data: base.data,
  };
  const { seed: _omit, ...setting } = config;
  const named = [...Object.entries(base.varied).map(([k, v]) => `${k}=${formatValue(v)}`), `seed=${seed}`];
  return {
    ...base,
    seed,
    phase,
    index,
    sweep: spec.name,
    trialId: trialId(config),
    settingId: trialId(setting),
    runName: `${base.model}/${base.dataset}/${named.join(',')}`,
  };
}

/** The sweep's training length: trainFor, else steps as trainFor, else the preset's. */
function trainingLength(overrides: SweepSpec['overrides'] & object, preset: TrainFor): TrainFor {
  if (overrides.trainFor) return overrides.trainFor;
  if (overrides.steps !== undefined) return { unit: 'steps', amount: overrides.steps };
  return preset;
}

export interface ExpandOptions {
  /** the sweep file path, for messages */
  label?: string;
}

/** Phase 1: every (dataset, model, grid point, random sample, seed), in that nesting order. */
export function expandSweep(spec: SweepSpec, opts: ExpandOptions = {}): Trial[] {
  const label = opts.label ?? spec.name;
  const trials: Trial[] = [];
  for (const dataset of spec.datasets) {
    const datasetSpec = resolveDatasetSpec(spec, dataset, label);
    for (const model of spec.models) {
      for (const base of settingsOf(spec, dataset, model, datasetSpec)) {
        for (const seed of spec.seeds) trials.push(buildTrial(spec, base, seed, 'grid', trials.length));
      }
    }
  }
  assertDistinct(trials, label);
  return trials;
}

/** A trial without its seed, phase and identity: one hyperparameter setting. */
type TrialSetting = Omit<Trial, 'index' | 'trialId' | 'settingId' | 'runName' | 'seed' | 'phase'>;

interface SplitSpace {
  fixed: Partial<Record<SpaceKey, Value>>;
  axes: [SpaceKey, readonly Value[]][];
  dists: [SpaceKey, Dist][];
}

/** The space's keys by kind: fixed values, grid axes (lists) and random-search distributions. */
function splitSpace(space: HyperparameterSpace): SplitSpace {
  const out: SplitSpace = { fixed: {}, axes: [], dists: [] };
  for (const key of SPACE_KEYS) {
    const v = space[key] as unknown;
    if (v === undefined) continue;
    if (Array.isArray(v)) out.axes.push([key, v as Value[]]);
    else if (isDist(v)) out.dists.push([key, v]);
    else out.fixed[key] = v as Value;
  }
  return out;
}

/** Every setting of (dataset, model): grid points × random-search samples, each drawn from its own RNG. */
function settingsOf(spec: SweepSpec, dataset: DatasetName, model: ModelName, datasetSpec: DatasetSpec): TrialSetting[] {
  const space: HyperparameterSpace = { ...(spec.hp ?? {}), ...(spec.perModel?.[model] ?? {}) };
  const split = splitSpace(space);
  const samples = split.dists.length > 0 ? (spec.samples ?? 1) : 1;
  const settings: TrialSetting[] = [];
  cartesian(split.axes).forEach((point, g) => {
    for (let s = 0; s < samples; s++) {
      const rng = createRng(seed32(spec.searchSeed ?? 0, dataset, model, g, s));
      const drawn: Partial<Record<SpaceKey, Value>> = {};
      for (const [key, d] of split.dists) drawn[key] = draw(d, rng);
      const varied: Record<string, Value> = {};
      for (const key of SPACE_KEYS) {
        const isAxis = (split.axes.find(([k]) => k === key)?.[1].length ?? 0) > 1;
        if (point[key] !== undefined && isAxis) varied[snakeCase(key)] = point[key];
        if (drawn[key] !== undefined) varied[snakeCase(key)] = drawn[key];
      }
      const values = { ...split.fixed, ...point, ...drawn };
      settings.push(resolveSetting(spec, dataset, model, datasetSpec, values, varied));
    }
  });
  return settings;
}

/** Preset, then the setting's values, then the sweep's overrides: one fully resolved setting. */
function resolveSetting(
  spec: SweepSpec,
  dataset: DatasetName,
  model: ModelName,
  datasetSpec: DatasetSpec,
  values: Partial<Record<SpaceKey, Value>>,
  varied: Record<string, Value>,
): TrialSetting {
  const preset = getPreset(model, dataset, spec.budget);
  const dsFields = datasetSpec as unknown as Record<string, unknown>;
  const hp = { ...preset.hp } as ModelHyperparameters;
  const arch: ArchitectureConfig = { ...preset.arch };
  // a dataset spec that fixes its own image size (synthetic) decides the networks' size
  if (typeof dsFields.resolution === 'number')
    arch.resolution = dsFields.resolution as ArchitectureConfig['resolution'];
  if (typeof dsFields.channels === 'number') arch.channels = dsFields.channels;
  for (const key of SPACE_KEYS) {
    const v = values[key];
    if (v === undefined) continue;
    if (ARCH_KEYS.has(key)) (arch as unknown as Record<string, Value>)[key] = v;
    else (hp as unknown as Record<string, Value>)[key] = v;
  }
  const o = spec.overrides ?? {};
  const trainFor = trainingLength(o, preset.trainFor);
  const steps = stepsFor(trainFor, { model, hp });
  return {
    sweep: spec.name,
    model,
    dataset,
    budget: spec.budget,
    trainFor,
    arch,
    hp,
    steps,
    eval: EvalProtocolSchema.parse({ ...preset.eval, ...(o.eval ?? {}) }),
    metrics: [...spec.metrics].sort(),
    data: identityData(datasetSpec),
    varied,
    checkpointEvery: Math.min(o.checkpointEvery ?? preset.checkpointEvery, steps),
    sampleEvery: o.sampleEvery ?? preset.sampleEvery,
    logEvery: o.logEvery ?? preset.logEvery,
    evalEvery: evalEveryFor(o.evalEvery, preset.evaluations, steps),
    selectionMetric: selectionMetricFor(spec.metrics, spec.refine?.metric),
    datasetSpec,
  };
}

/** The sweep's evalEvery, else the preset's number of evaluations spread over this setting's own steps. */
function evalEveryFor(override: number | undefined, evaluations: number, steps: number): number | null {
  const every = override ?? Math.ceil(steps / evaluations);
  return every < steps ? every : null;
}

function assertDistinct(trials: readonly Trial[], label: string): void {
  const ids = new Map<string, Trial>();
  for (const t of trials) {
    const dup = ids.get(t.trialId);
    if (dup) {
      throw new SweepSpecError(
        `${label}: trials ${dup.index} (${dup.runName}) and ${t.index} (${t.runName}) resolve to the same ` +
          'configuration; remove the duplicate grid value (or the random-search space is too small for `samples`)',
      );
    }
    ids.set(t.trialId, t);
  }
}

export interface RankedSetting {
  settingId: string;
  model: ModelName;
  dataset: DatasetName;
  /** mean over the setting's finished runs of each run's validation ranking value (rankingValue) */
  score: number;
  runs: number;
  example: Trial;
}

/**
 * A finished run's validation score on `metric` as it ranks (rankingValue: MS-SSIM as |ms_ssim − ms_ssim_real|):
 * the selected checkpoint's, `best_<metric>` (the trial selects on the refine metric, so its best validation step
 * is the selected one), else the last `val/<metric>`. Never a `test/` score. Null when the run has none.
 */
export function validationRanking(run: Run, metric: MetricName): number | null {
  const scores: Record<string, number | undefined> = {
    [metric]: run.metrics[METRIC_KEYS.best(metric)] ?? run.metrics[METRIC_KEYS.val(metric)],
  };
  const closeTo = RANKING[metric]?.closeTo;
  // the validation reference is drawn with the same seed at every step: its last value is its value at any step
  if (closeTo !== undefined) scores[closeTo] = run.metrics[METRIC_KEYS.val(closeTo)];
  return rankingValue(metric, scores);
}

/**
 * Phase-1 settings ranked per (dataset, model) by their validation scores (validationRanking, mean over finished
 * seeds), best first in RANKING's direction. Runs without a finite score are left out.
 */
export function rankSettings(trials: Trial[], runs: Run[], metric: MetricName): RankedSetting[] {
  const byTrial = new Map(trials.map((t) => [t.trialId, t]));
  const scores = new Map<string, { sum: number; n: number; example: Trial }>();
  for (const run of runs) {
    if (run.info.status !== 'FINISHED') continue;
    const trial = byTrial.get(run.tags['ganstudy.trial_id'] ?? '');
    const value = validationRanking(run, metric);
    if (trial?.phase !== 'grid' || value === null) continue;
    const s = scores.get(trial.settingId) ?? { sum: 0, n: 0, example: trial };
    s.sum += value;
    s.n += 1;
    scores.set(trial.settingId, s);
  }
  const sign = RANKING[metric]?.direction === 'higher' ? -1 : 1;
  return [...scores.entries()]
    .map(([settingId, s]) => ({
      settingId,
      model: s.example.model,
      dataset: s.example.dataset,
      score: s.sum / s.n,
      runs: s.n,
      example: s.example,
    }))
    .sort((a, b) => sign * (a.score - b.score) || a.example.index - b.example.index);
}

/** Phase 2: the best `refine.topK` settings of each (dataset, model), once per new seed. */
export function expandRefine(spec: SweepSpec, phase1: Trial[], runs: Run[]): Trial[] {
  const refine = spec.refine;
  if (!refine) return [];
  const ranked = rankSettings(phase1, runs, refine.metric);
  const out: Trial[] = [];
  for (const dataset of spec.datasets) {
    for (const model of spec.models) {
      const best = ranked.filter((r) => r.dataset === dataset && r.model === model).slice(0, refine.topK);
      for (const setting of best) {
        const { index: _i, trialId: _t, settingId: _s, runName: _r, seed: _seed, phase: _p, ...base } = setting.example;
        for (const seed of refine.seeds) out.push(buildTrial(spec, base, seed, 'refine', out.length));
      }
    }
  }
  return out;
}
