/**
 * The sweep-file language: `defineSweep({...})` (an identity function that gives sweep files full types)
 * and the zod schema that checks a sweep before anything runs.
 *
 * This module is deliberately light (zod only, no TensorFlow) so that sweep files, `--dry-run` and the
 * schema tests load it in milliseconds.
 *
 * A value in a hyperparameter space is one of:
 *   - a plain value           fixed for every trial
 *   - a list `[a, b, c]`      a grid axis: the sweep runs the cartesian product of all lists
 *   - `choice([a, b])`        random search: one value drawn per sample
 *   - `uniform(a, b)`         random search: uniform in [a, b)
 *   - `logUniform(a, b)`      random search: log-uniform in [a, b)  (learning rates)
 * Random draws come from a RNG seeded by the sweep (see expand.ts), so a sweep expands identically every time.
 */
import { z } from 'zod';
import { BudgetSchema, type Budget } from '../../experiments/types.js';
import { EvalProtocolSchema, METRIC_NAMES, type EvalProtocol, type MetricName } from '../../metrics/protocol.js';
import type { DatasetName } from '../data/types.js';
import type { ArchitectureConfig, ModelHyperparameters, ModelName } from '../models/types.js';
import { TrainForSchema, type TrainFor } from '../train/counters.js';

export const SWEEP_MODEL_NAMES = ['dcgan', 'wgan-gp', 'age', 'alpha-gan'] as const satisfies readonly ModelName[];
export const SWEEP_DATASET_NAMES = [
  'colormnist',
  'cifar10',
  'celeba',
  'folder',
  'synthetic',
] as const satisfies readonly DatasetName[];

// ---------------------------------------------------------------------------------------------------------------
// Distributions

export interface Choice<T> {
  readonly dist: 'choice';
  readonly values: readonly T[];
}
export interface Uniform {
  readonly dist: 'uniform';
  readonly low: number;
  readonly high: number;
}
export interface LogUniform {
  readonly dist: 'logUniform';
  readonly low: number;
  readonly high: number;
}
export type Distribution<T> = Choice<T> | (T extends number ? Uniform | LogUniform : never);

export function choice<const T extends string | number>(values: readonly T[]): Choice<T> {
  return { dist: 'choice', values };
}
export function uniform(low: number, high: number): Uniform {
  return { dist: 'uniform', low, high };
}
export function logUniform(low: number, high: number): LogUniform {
  return { dist: 'logUniform', low, high };
}

/** A fixed value, a grid axis (list) or a random-search distribution. */
export type SpaceValue<T> = T | readonly T[] | Distribution<T>;

/** Architecture fields a sweep may vary (resolution and channels follow from the dataset). */
export type SweepArchKey = 'zDim' | 'widthMultiplier';
export type HyperparameterSpace = {
  [K in keyof ModelHyperparameters]?: SpaceValue<ModelHyperparameters[K]>;
} & {
  [K in SweepArchKey]?: SpaceValue<ArchitectureConfig[K]>;
};

export interface SweepOverrides {
  /**
   * How long every trial trains, e.g. `{ unit: 'generator_updates', amount: 50_000 }` or
   * `{ unit: 'examples_seen', amount: 3_200_000 }`; converted to steps per model and per nG/nD/batchSize
   * (src/train/counters.ts). Default: the preset's (stated in generator updates).
   */
  trainFor?: TrainFor;
  /** trainStep calls for every trial, whatever the model's schedule: short for `trainFor: { unit: 'steps', … }` */
  steps?: number;
  checkpointEvery?: number;
  sampleEvery?: number;
  logEvery?: number;
  /** also score the generator every this many steps (logged at that step); default: only at the end */
  evalEvery?: number;
  /** fields of the evaluation protocol (metrics/protocol.ts) */
  eval?: Partial<EvalProtocol>;
}

export interface RefineSpec {
  /** re-run the best k settings of each (model, dataset) … */
  topK: number;
  /** … once for each of these new seeds */
  seeds: number[];
  /** ranked by validation scores only (`best_<metric>` on `val/`, mean over seeds; metrics/protocol.ts RANKING) */
  metric: MetricName;
}

export interface SweepSpec {
  /** the MLflow experiment name; also names runs/<name>/ */
  name: string;
  description?: string;
  models: ModelName[];
  datasets: DatasetName[];
  /** which preset of experiments/ (architecture, training length, eval protocol) the trials start from */
  budget: Budget;
  /** shared hyperparameter space (every model) */
  hp?: HyperparameterSpace;
  /** per-model spaces; a key here replaces the shared one for that model */
  perModel?: Partial<Record<ModelName, HyperparameterSpace>>;
  seeds: number[];
  /** random-search samples per grid point over the distributions (choice/uniform/logUniform); default 1 */
  samples?: number;
  /** seeds the random-search draws (default 0), so expansion is deterministic */
  searchSeed?: number;
  metrics: MetricName[];
  overrides?: SweepOverrides;
  /** dataset locations: colormnist → MNIST IDX folder, cifar10 → binary batches, celeba/folder → image folder */
  dataDirs?: Partial<Record<DatasetName, string>>;
  /** further dataset-spec fields merged over the budget's spec (e.g. synthetic resolution, limit) */
  data?: Partial<Record<DatasetName, Record<string, string | number | boolean>>>;
  refine?: RefineSpec;
  /** trials at once when the command line gives no --parallel (default 1) */
  parallel?: number;
}

/** Identity at run time; gives sweep files autocompletion and type errors in the editor. */
export function defineSweep<const S extends SweepSpec>(spec: S): S {
  return spec;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema

const finite = z.number().refine(Number.isFinite, { message: 'expected a finite number' });
const positive = finite.refine((v) => v > 0, { message: 'expected a number > 0' });
const posInt = z.number().int().positive();
const nonNegative = finite.refine((v) => v >= 0, { message: 'expected a number >= 0' });
/** Adam's β: in [0, 1) */
const beta = finite.refine((v) => v >= 0 && v < 1, { message: 'expected a number in [0, 1)' });

function rangeSchema(dist: 'uniform' | 'logUniform', base: z.ZodType<number>) {
  return z
    .strictObject({ dist: z.literal(dist), low: base, high: base })
    .refine((d) => d.low < d.high, { message: `${dist}(low, high) needs low < high` });
}

/** A continuous hyperparameter: fixed, list, choice, uniform or logUniform (log needs positive bounds). */
function continuousSpace(base: z.ZodType<number>) {
  return z.union([
    base,
    z.array(base).min(1, { message: 'a grid list needs at least one value' }),
    z.strictObject({ dist: z.literal('choice'), values: z.array(base).min(1) }),
    rangeSchema('uniform', base),
    rangeSchema('logUniform', positive),
  ]);
}

/** An integer or categorical hyperparameter: fixed, list or choice (no continuous ranges). */
function discreteSpace<T extends z.ZodType>(base: T) {
  const forms = z.union([
    base,
    z.array(base).min(1, { message: 'a grid list needs at least one value' }),
    z.strictObject({ dist: z.literal('choice'), values: z.array(base).min(1) }),
  ]);
  // say why uniform/logUniform are refused here instead of listing the fields a choice() would need
  return z
    .unknown()
    .superRefine((v, ctx) => {
      const dist = typeof v === 'object' && v !== null && 'dist' in v ? (v as { dist: unknown }).dist : undefined;
      if (dist === 'uniform' || dist === 'logUniform') {
        ctx.addIssue({
          code: 'custom',
          message: `${dist}(a, b) draws fractional values; this hyperparameter takes a value, a list (grid) or choice([...])`,
        });
      }
    })
    .pipe(forms);
}

const HyperparameterSpaceSchema = z.strictObject({
  lrG: continuousSpace(positive).optional(),
  lrD: continuousSpace(positive).optional(),
  beta1: continuousSpace(beta).optional(),
  beta2: continuousSpace(beta).optional(),
  batchSize: discreteSpace(posInt).optional(),
  nG: discreteSpace(posInt).optional(),
  nD: discreteSpace(posInt).optional(),
  gpLambda: continuousSpace(nonNegative).optional(),
  reconLambda: continuousSpace(nonNegative).optional(),
  latentLambda: continuousSpace(nonNegative).optional(),
  ageKlForm: discreteSpace(z.enum(['paper', 'code'])).optional(),
  ageMu: continuousSpace(nonNegative).optional(),
  ageLambda: continuousSpace(nonNegative).optional(),
  zDim: discreteSpace(posInt).optional(),
  widthMultiplier: continuousSpace(positive).optional(),
});

const ModelNameSchema = z.enum(SWEEP_MODEL_NAMES);
const DatasetNameSchema = z.enum(SWEEP_DATASET_NAMES);
const MetricNameSchema = z.enum(METRIC_NAMES);

const uniqueList = <T extends z.ZodType>(item: T, what: string) =>
  z
    .array(item)
    .min(1, { message: `list at least one ${what}` })
    .refine((xs) => new Set(xs.map((x) => JSON.stringify(x))).size === xs.length, {
      message: `each ${what} may appear only once`,
    });

export const SweepSpecSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
      message: 'expected letters, digits, ".", "_" or "-" (it names the MLflow experiment and runs/<name>/)',
    }),
    description: z.string().optional(),
    models: uniqueList(ModelNameSchema, 'model'),
    datasets: uniqueList(DatasetNameSchema, 'dataset'),
    budget: BudgetSchema,
    hp: HyperparameterSpaceSchema.optional(),
    perModel: z.partialRecord(ModelNameSchema, HyperparameterSpaceSchema).optional(),
    seeds: uniqueList(z.number().int().nonnegative(), 'seed'),
    samples: posInt.optional(),
    searchSeed: z.number().int().nonnegative().optional(),
    metrics: uniqueList(MetricNameSchema, 'metric'),
    overrides: z
      .strictObject({
        trainFor: TrainForSchema.optional(),
        steps: posInt.optional(),
        checkpointEvery: posInt.optional(),
        sampleEvery: posInt.optional(),
        logEvery: posInt.optional(),
        evalEvery: posInt.optional(),
        eval: EvalProtocolSchema.partial().strict().optional(),
      })
      .optional(),
    dataDirs: z.partialRecord(DatasetNameSchema, z.string().min(1)).optional(),
    data: z
      .partialRecord(DatasetNameSchema, z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])))
      .optional(),
    refine: z
      .strictObject({
        topK: posInt,
        seeds: uniqueList(z.number().int().nonnegative(), 'seed'),
        metric: MetricNameSchema,
      })
      .optional(),
    parallel: posInt.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.overrides?.steps !== undefined && spec.overrides.trainFor !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['overrides', 'trainFor'],
        message: 'give either overrides.steps or overrides.trainFor, not both (steps is trainFor in unit "steps")',
      });
    }
    if (spec.refine && !spec.metrics.includes(spec.refine.metric)) {
      ctx.addIssue({
        code: 'custom',
        path: ['refine', 'metric'],
        message: `ranks by "${spec.refine.metric}", which is not in metrics [${spec.metrics.join(', ')}]`,
      });
    }
    // IS and FID score with a classifier ganstudy trains on the dataset's labels; these datasets have none
    const unlabeled = spec.datasets.filter((d) => d === 'celeba' || d === 'folder');
    const needClassifier = spec.metrics.filter((m) => m === 'inception_score' || m === 'fid');
    if (unlabeled.length > 0 && needClassifier.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['metrics'],
        message:
          `${needClassifier.join(' and ')} need a dataset classifier, and ${unlabeled.join(', ')} has no class labels to train one; ` +
          'drop them from metrics (ms_ssim and critic_w need no classifier) or sweep that dataset separately',
      });
    }
    for (const model of Object.keys(spec.perModel ?? {})) {
      if (!spec.models.includes(model as ModelName)) {
        ctx.addIssue({
          code: 'custom',
          path: ['perModel', model],
          message: `space for "${model}", which is not in models [${spec.models.join(', ')}]`,
        });
      }
    }
  });

/** Thrown when a sweep file is missing, fails to load, or breaks the schema; the message names the field. */
export class SweepSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepSpecError';
  }
}

/** `models[1]`, `perModel.alpha-gan.lrG` — the field as it is written in the sweep file. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

/**
 * One line per problem. Unions (fixed | list | distribution) report the branch closest to what the user wrote,
 * so `lrG: "fast"` says "expected a number", not three alternatives.
 */
function formatIssue(issue: z.core.$ZodIssue, input: unknown, basePath: readonly PropertyKey[] = []): string[] {
  const path = [...basePath, ...issue.path];
  const got = valueAt(input, path);
  switch (issue.code) {
    case 'invalid_value':
      return [
        `${formatPath(path)}: expected one of ${issue.values.map((v) => String(v)).join('|')}, got ${describeValue(got)}`,
      ];
    case 'unrecognized_keys':
      return issue.keys.map(
        (k) => `${formatPath([...path, k])}: unknown field (check the spelling; see src/sweep/define.ts)`,
      );
    case 'invalid_type':
      if (got === undefined) return [`${formatPath(path)}: required (expected ${issue.expected})`];
      return [`${formatPath(path)}: expected ${issue.expected}, got ${describeValue(got)}`];
    case 'invalid_union': {
      // pick the branch whose errors go deepest (the one the user evidently meant), else say what is allowed
      const branches = issue.errors.filter((errs) => errs.length > 0);
      const depth = (errs: z.core.$ZodIssue[]) => Math.max(...errs.map((e) => e.path.length));
      const typeOnly = (errs: z.core.$ZodIssue[]) =>
        errs.every((e) => e.code === 'invalid_type' && e.path.length === 0);
      const meaningful = branches.filter((errs) => !typeOnly(errs));
      if (meaningful.length > 0) {
        const best = meaningful.reduce((a, b) => (depth(b) > depth(a) ? b : a));
        return best.flatMap((e) => formatIssue(e, input, path));
      }
      const first = branches[0]?.[0];
      const what =
        first?.code === 'invalid_type' && first.expected === 'int'
          ? 'a whole number, a list of them (grid) or choice([...])'
          : 'a value, a list of values (grid), choice([...]), uniform(a, b) or logUniform(a, b)';
      return [`${formatPath(path)}: expected ${what}, got ${describeValue(got)}`];
    }
    default:
      return [
        `${formatPath(path)}: ${issue.message}${got !== undefined && issue.code !== 'custom' ? ` (got ${describeValue(got)})` : ''}`,
      ];
  }
}

/** Validates a sweep spec; throws SweepSpecError listing every bad field as `<source>: <path>: <problem>`. */
export function parseSweepSpec(input: unknown, source = 'sweep'): SweepSpec {
  const result = SweepSpecSchema.safeParse(input);
  if (result.success) return result.data as SweepSpec;
  const lines = result.error.issues.flatMap((issue) => formatIssue(issue, input));
  throw new SweepSpecError([...new Set(lines)].map((l) => `${source}: ${l}`).join('\n'));
}
