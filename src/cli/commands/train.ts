/**
 * `ganstudy train --model <m> --dataset <d> [options]`: one model on one dataset, outside any sweep — what a user
 * tries first. Trains with a progress line, writes sample grids and checkpoints under --out, and resumes from the
 * last checkpoint when re-run with the same --out (the resolved configuration is kept in <out>/train-config.json
 * and must match, except for --steps, which may grow).
 *
 * Flags are validated before TensorFlow loads, so a typo fails fast with the flag's name.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Preset } from '../../../experiments/index.js';
import type { DatasetSpec } from '../../data/index.js';
import type { Dataset } from '../../data/types.js';
import type { ArchitectureConfig, ModelHyperparameters } from '../../models/types.js';
import type { TrainResult } from '../../train/types.js';
import { parseCommandLine } from '../args.js';
import { UserError } from '../errors.js';
import { checkWritableDir } from '../preflight.js';

const MODELS = ['dcgan', 'wgan-gp', 'age', 'alpha-gan'] as const;
const DATASETS = ['colormnist', 'cifar10', 'celeba', 'folder', 'synthetic'] as const;

const USAGE = `usage: ganstudy train --model <model> --dataset <dataset> [options]

Trains one model on one dataset with a progress line; writes sample grids to <out>/samples/step-<n>.png and
checkpoints to <out>/checkpoints/step-<n>/ (the last two kept). Re-running with the same --out resumes from
the last checkpoint; Ctrl-C stops after the current step and checkpoints it.

required:
  --model M             ${MODELS.join(' | ')}
  --dataset D           ${DATASETS.join(' | ')}

options:
  --budget B            quick (default: small networks, about a minute on a CPU) | cpu (the study budget: about
                        5 minutes on one core) | paper (paper-spec networks and length)
  --steps N             training steps (default: the preset's)
  --seed S              model and data-order seed (default 0)
  --out DIR             run folder (default runs/train/<model>-<dataset>-<budget>-s<seed>)
  --data-dir DIR        dataset location: CIFAR-10 batches, image folder, or MNIST IDX files for colormnist
  --checkpoint-every N  --sample-every N (0 = off)  --log-every N

hyperparameters (default: the preset's):
  --lr-g X  --lr-d X  --beta1 X  --beta2 X  --batch-size N  --n-g N  --n-d N  --gp-lambda X
  --recon-lambda X  --latent-lambda X  --age-kl-form paper|code  --age-mu X  --age-lambda X
  --z-dim N  --width X (network width multiplier)

  -v, --verbose         stack traces on errors
  -h, --help            this text
`;

const num = (flag: string) =>
  z.string().transform((s, ctx) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isFinite(v)) {
      ctx.addIssue({ code: 'custom', message: `--${flag}: expected a number, got "${s}"` });
      return z.NEVER;
    }
    return v;
  });
const int = (flag: string, min: number) =>
  z
    .string()
    .transform((s, ctx) => {
      const v = Number(s);
      if (s.trim() === '' || !Number.isInteger(v)) {
        ctx.addIssue({ code: 'custom', message: `--${flag}: expected a whole number, got "${s}"` });
        return z.NEVER;
      }
      return v;
    })
    .pipe(z.number().min(min, `--${flag}: expected a whole number >= ${min}`));
const positive = (flag: string) => num(flag).pipe(z.number().positive(`--${flag}: must be > 0`));
const nonneg = (flag: string) => num(flag).pipe(z.number().nonnegative(`--${flag}: must be >= 0`));
const unit = (flag: string) =>
  num(flag).pipe(z.number().min(0, `--${flag}: must be in [0, 1)`).lt(1, `--${flag}: must be in [0, 1)`));
const oneOf = <T extends readonly [string, ...string[]]>(flag: string, values: T) =>
  z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? `--${flag}: is required`
        : `--${flag}: expected one of ${values.join(', ')}, got "${String(iss.input)}"`,
  });

export const TrainFlagsSchema = z.strictObject({
  model: oneOf('model', MODELS),
  dataset: oneOf('dataset', DATASETS),
  budget: oneOf('budget', ['quick', 'cpu', 'paper'] as const).default('quick'),
  steps: int('steps', 1).optional(),
  seed: int('seed', 0).default(0),
  out: z.string().min(1, '--out: must not be empty').optional(),
  'data-dir': z.string().min(1, '--data-dir: must not be empty').optional(),
  'checkpoint-every': int('checkpoint-every', 1).optional(),
  'sample-every': int('sample-every', 0).optional(),
  'log-every': int('log-every', 1).optional(),
  'lr-g': nonneg('lr-g').optional(),
  'lr-d': nonneg('lr-d').optional(),
  beta1: unit('beta1').optional(),
  beta2: unit('beta2').optional(),
  'batch-size': int('batch-size', 1).optional(),
  'n-g': int('n-g', 1).optional(),
  'n-d': int('n-d', 1).optional(),
  'gp-lambda': nonneg('gp-lambda').optional(),
  'recon-lambda': nonneg('recon-lambda').optional(),
  'latent-lambda': nonneg('latent-lambda').optional(),
  'age-kl-form': oneOf('age-kl-form', ['paper', 'code'] as const).optional(),
  'age-mu': nonneg('age-mu').optional(),
  'age-lambda': nonneg('age-lambda').optional(),
  'z-dim': int('z-dim', 1).optional(),
  width: positive('width').optional(),
});
export type TrainFlags = z.output<typeof TrainFlagsSchema>;

const HP_FLAGS: Record<string, keyof ModelHyperparameters> = {
  'lr-g': 'lrG',
  'lr-d': 'lrD',
  beta1: 'beta1',
  beta2: 'beta2',
  'batch-size': 'batchSize',
  'n-g': 'nG',
  'n-d': 'nD',
  'gp-lambda': 'gpLambda',
  'recon-lambda': 'reconLambda',
  'latent-lambda': 'latentLambda',
  'age-kl-form': 'ageKlForm',
  'age-mu': 'ageMu',
  'age-lambda': 'ageLambda',
};

const FLAGS = Object.fromEntries(Object.keys(TrainFlagsSchema.shape).map((k) => [k, { type: 'string' as const }]));

/** argv → validated flags (and whether --help was asked); a bad flag is a UserError naming it. */
export function parseTrainFlags(argv: string[]): { flags: TrainFlags; help: boolean; verbose: boolean } {
  const { flags: values } = parseCommandLine('train', argv, FLAGS);
  const { help, verbose, ...rest } = values;
  if (help === true) return { flags: {} as TrainFlags, help: true, verbose: verbose === true };
  const parsed = TrainFlagsSchema.safeParse(rest);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const flag = i.path.length > 0 ? `--${String(i.path[0])}` : '';
      if (i.code === 'invalid_type' && i.input === undefined) return `${flag}: is required`;
      return i.message.startsWith('--') ? i.message : `${flag}: ${i.message}`;
    });
    throw new UserError(`${lines.join('; ')}; see ganstudy train --help`, 2);
  }
  return { flags: parsed.data, help: false, verbose: verbose === true };
}

/** What a run folder is trained with; stored so a re-run with other settings cannot silently mix two configurations. */
interface StoredConfig {
  model: string;
  dataset: string;
  budget: string;
  seed: number;
  arch: unknown;
  hp: unknown;
  data: unknown;
}

function differences(a: StoredConfig, b: StoredConfig): string[] {
  const out: string[] = [];
  for (const key of Object.keys(a) as (keyof StoredConfig)[]) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key]))
      out.push(`${key}: ${JSON.stringify(a[key])} → ${JSON.stringify(b[key])}`);
  }
  return out;
}

async function readStoredConfig(file: string): Promise<StoredConfig | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${file}: ${(e as Error).message}; remove it or use another --out`);
  }
}

/** The run folder can take this run: same settings as the checkpoints it holds, and not already past `steps`. */
async function checkRunFolder(out: string, config: StoredConfig, steps: number): Promise<void> {
  const { latestCheckpoint } = await import('../../train/index.js');
  const previous = await readStoredConfig(path.join(out, 'train-config.json'));
  const checkpoint = await latestCheckpoint(out);
  // settings without a checkpoint are an attempt that never trained: the corrected command replaces them
  if (previous && checkpoint) {
    const diff = differences(previous, config);
    if (diff.length > 0) {
      throw new UserError(
        `${out} holds a run with other settings (${diff.join('; ')}); use another --out or the same flags`,
        2,
      );
    }
  }
  if (checkpoint && checkpoint.step > steps) {
    throw new UserError(
      `${out} is already trained to step ${checkpoint.step}, past --steps ${steps}: ` +
        `use --steps ${checkpoint.step} or more to continue it, or another --out for a new run`,
      2,
    );
  }
}

/** what the flags and the preset resolve to: the settings stored with the run and where it goes */
interface ResolvedRun {
  config: StoredConfig;
  arch: ArchitectureConfig;
  hp: ModelHyperparameters;
  dataSpec: DatasetSpec;
  steps: number;
  out: string;
}

/** the preset's settings with the flags that override them, and the run folder */
function resolveRun(flags: TrainFlags, preset: Preset, dataSpec: DatasetSpec): ResolvedRun {
  const hp: ModelHyperparameters = { ...preset.hp };
  for (const [flag, key] of Object.entries(HP_FLAGS)) {
    const v = (flags as Record<string, unknown>)[flag];
    if (v !== undefined) (hp as unknown as Record<string, unknown>)[key] = v;
  }
  const arch = { ...preset.arch };
  if (flags['z-dim'] !== undefined) arch.zDim = flags['z-dim'];
  if (flags.width !== undefined) arch.widthMultiplier = flags.width;
  const steps = flags.steps ?? preset.steps;
  const defaultOut = path.join('runs', 'train', `${flags.model}-${flags.dataset}-${flags.budget}-s${flags.seed}`);
  const out = path.resolve(flags.out ?? defaultOut);
  const config: StoredConfig = {
    model: flags.model,
    dataset: flags.dataset,
    budget: flags.budget,
    seed: flags.seed,
    arch,
    hp,
    data: dataSpec,
  };
  return { config, arch, hp, dataSpec, steps, out };
}

/** the training data, or one line naming --dataset and what to do about --data-dir */
async function loadTrainingData(
  flags: TrainFlags,
  dataSpec: DatasetSpec,
  loadDataset: (spec: DatasetSpec) => Promise<Dataset>,
): Promise<Dataset> {
  try {
    return await loadDataset(dataSpec);
  } catch (e) {
    const where = flags['data-dir'] === undefined ? 'set its location with --data-dir' : 'check --data-dir';
    throw new UserError(`--dataset ${flags.dataset}: ${(e as Error).message.split('\n')[0]} (${where})`);
  }
}

/** written once training can start, so a command that failed before leaves nothing that blocks the corrected one */
async function writeStoredConfig(out: string, config: StoredConfig): Promise<void> {
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'train-config.json'), JSON.stringify(config, null, 2) + '\n');
}

/** Ctrl-C (or SIGTERM) stops after the current step; a second one quits at once with 130 */
function installStopHandlers(): { signal: AbortSignal; remove: () => void } {
  // SIGTERM too: `docker stop`, a pod eviction and npm forwarding its own signal all send it
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping after this step (Ctrl-C again to quit at once)…\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    signal: controller.signal,
    remove: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

/** the result as one JSON line on stdout, and the exit code: 0 finished, 3 diverged, 130 stopped */
function reportResult(result: TrainResult, out: string): number {
  process.stdout.write(
    JSON.stringify({
      status: result.status,
      step: result.step,
      resumedFrom: result.resumedFrom,
      losses: result.lastLosses,
      checkpoint: result.checkpointDir,
      samples: path.join(out, 'samples'),
    }) + '\n',
  );
  if (result.status === 'diverged') {
    process.stderr.write(
      `ganstudy train: diverged at step ${result.step} (non-finite loss); last good checkpoint: ${result.checkpointDir ?? 'none'}\n`,
    );
    return 3;
  }
  return result.status === 'aborted' ? 130 : 0;
}

export async function run(argv: string[]): Promise<number> {
  const { flags, help } = parseTrainFlags(argv);
  if (help) {
    process.stdout.write(USAGE);
    return 0;
  }

  // heavy imports (TensorFlow, sharp) only once the flags are known to be good
  const { getPreset, datasetSpecFor } = await import('../../../experiments/index.js');
  const { loadDataset } = await import('../../data/index.js');
  const { createModel } = await import('../../models/index.js');
  const { train } = await import('../../train/index.js');
  const { createProgressLine } = await import('../progress.js');

  const preset = getPreset(flags.model, flags.dataset, flags.budget);
  const dataSpec = datasetSpecFor(flags.dataset, flags.budget, { dir: flags['data-dir'] });
  const { config, arch, hp, steps, out } = resolveRun(flags, preset, dataSpec);
  await checkWritableDir(out, '--out');
  await checkRunFolder(out, config, steps);

  process.stderr.write(
    `${flags.model} on ${flags.dataset} (${flags.budget} budget), ${steps} steps, seed ${flags.seed} → ${out}\n`,
  );
  const dataset = await loadTrainingData(flags, dataSpec, loadDataset);
  const model = createModel({ model: flags.model, arch, hp, seed: flags.seed });
  await writeStoredConfig(out, config);
  const stop = installStopHandlers();
  try {
    const result = await train({
      model,
      data: dataset.train,
      steps,
      seed: flags.seed,
      runDir: out,
      checkpointEvery: flags['checkpoint-every'] ?? Math.min(preset.checkpointEvery, steps),
      sampleEvery: flags['sample-every'] ?? Math.min(preset.sampleEvery, steps),
      logEvery: flags['log-every'] ?? Math.min(preset.logEvery, steps),
      onEvent: createProgressLine(process.stderr),
      signal: stop.signal,
    });
    return reportResult(result, out);
  } finally {
    stop.remove();
    model.dispose();
  }
}
