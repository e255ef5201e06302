/**
 * Presets per (model, dataset, budget): the networks, hyperparameters, training length and evaluation protocol a
 * trial starts from before a sweep overrides anything. Two budgets:
 *
 * paper — paper-spec §3 networks at full width (28×28 ColorMNIST, 32×32 CIFAR-10, 64×64 CelebA), the models'
 *   paper defaults (batch 64), and a training length from the reference code, because the α-GAN paper's own
 *   length is unknown (paper-spec §9 item 3): igul222/improved_wgan_training trains 200,000 generator iterations
 *   (`ITERS = 200000` in gan_cifar.py, gan_64x64.py); ColorMNIST, a far smaller problem (10,000 real digits by
 *   default), gets half of that. The length is stated in generator updates, so every model, and every nG a sweep
 *   tries, gets the same number of them (src/train/counters.ts converts to steps). Evaluation as paper-spec §5:
 *   Inception-style score on 50,000 samples in 10 splits (Salimans et al.), MS-SSIM diversity over 5 × 64 samples
 *   (compare_gan), an independent critic of 20,000 steps at batch 64 (K is unknown; Danihelka et al. train for tens
 *   of thousands), FID on 10,000.
 *
 * quick — sized so that sweeps/quickstart.ts (4 models × 2 settings on ColorMNIST, two single-threaded trials
 *   at a time on a 2-core machine) trains and evaluates in ≤ 15 minutes. The per-model step counts come from
 *   measured trainStep costs (QUICK_STEP_TIMES_MS) so that each trial trains for about QUICK_TRAIN_SECONDS with the
 *   models' default schedules; they are stated as the generator updates those steps make, so a sweep that varies nG
 *   keeps the generator updates equal. The evaluation protocol is small (QUICK_EVAL).
 *
 * cpu — the study budget of sweeps/colormnist-cpu.ts, between the two: the quick width (0.25 of the paper's),
 *   the paper's batch 64, and about CPU_TRAIN_SECONDS of training per trial on one core (so each model gets the
 *   same compute, stated as the generator updates its default schedule makes in that time), long enough for every
 *   model to draw recognisable ColorMNIST digits (bench/README.md, "The cpu budget"). Each trial scores on
 *   validation CPU_EVALUATIONS times (the selection picks among them) and its selected checkpoint once on test,
 *   with the CPU_EVAL protocol: Inception-style score and FID on 5,000 samples, a critic of CPU_CRITIC_STEPS.
 *
 * 'synthetic' presets exist for tests and smoke runs: tiny networks, a few steps.
 */
import { z } from 'zod';
import { EvalProtocolSchema, type EvalProtocol } from '../metrics/protocol.js';
import { DatasetSpecSchema, type DatasetSpec } from '../src/data/index.js';
import type { DatasetName } from '../src/data/types.js';
import { ModelConfigSchema, defaultArchitecture, defaultHyperparameters } from '../src/models/index.js';
import type { ArchitectureConfig, ModelHyperparameters, ModelName, Resolution } from '../src/models/types.js';
import { MODEL_NAMES } from '../src/models/types.js';
import { stepsFor, TrainForSchema, type TrainFor } from '../src/train/counters.js';
import { BudgetSchema, type Budget, type Preset } from './types.js';

export { BudgetSchema } from './types.js';
export type { Budget, Preset } from './types.js';
export const BUDGETS: readonly Budget[] = BudgetSchema.options;
export const PRESET_DATASETS: readonly DatasetName[] = ['colormnist', 'cifar10', 'celeba', 'folder', 'synthetic'];

/** Where datasetSpecFor looks for dataset files by default (sweeps and `--data-dir` override). */
export const DEFAULT_DATA_DIRS = {
  cifar10: 'data/cifar-10-batches-bin',
  celeba: 'data/img_align_celeba',
  folder: 'data/images',
} as const;

export const PresetSchema = z.strictObject({
  model: z.enum(MODEL_NAMES as [ModelName, ...ModelName[]]),
  dataset: z.enum(PRESET_DATASETS as [DatasetName, ...DatasetName[]]),
  budget: BudgetSchema,
  arch: ModelConfigSchema.shape.arch,
  hp: ModelConfigSchema.shape.hp,
  trainFor: TrainForSchema,
  steps: z.number().int().positive(),
  checkpointEvery: z.number().int().positive(),
  sampleEvery: z.number().int().nonnegative(),
  logEvery: z.number().int().positive(),
  /** validation scorings per trial, evenly spaced, the last at the end (1 = only at the end) */
  evaluations: z.number().int().positive(),
  eval: EvalProtocolSchema,
});

const RESOLUTION: Record<DatasetName, Resolution> = {
  colormnist: 28,
  cifar10: 32,
  celeba: 64,
  folder: 64,
  synthetic: 28,
};

/** paper-spec §5 sample counts; critic K and classifier steps are ganstudy's choices (the paper's are unknown) */
export const PAPER_EVAL: EvalProtocol = {
  inceptionSamples: 50_000,
  inceptionSplits: 10,
  diversityBatches: 5,
  diversityBatchSize: 64,
  criticSteps: 20_000,
  criticBatchSize: 64,
  criticWidth: 1,
  criticLr: 1e-4,
  criticBeta1: 0.5,
  criticBeta2: 0.9,
  criticGpLambda: 10,
  fidSamples: 10_000,
  classifierSteps: 5_000,
  modesSamples: 1_000,
  modesMinCount: 3,
};

/**
 * The quick protocol. IS on 1,000 samples in 10 splits (WGAN-GP's training-time monitor uses the same N); the
 * ColorMNIST classifier trains 300 steps once and is cached (held-out accuracy 0.93); MS-SSIM diversity keeps
 * paper-spec's 5 × 64; FID on 1,000 samples (biased upwards at small N: compare quick FIDs only with each other).
 *
 * The independent critic is the protocol's fixed yardstick, the same for every trial whatever its model width:
 * the dataset's discriminator at a quarter of the paper's width (at width 1 the critic alone outlasts a quick
 * trial), batch 64, Adam 1e-4, β (0.5, 0.9), λ 10, 200 steps. Across critic seeds on ColorMNIST (bench/
 * critic-noise.ts), Ŵ of a fully collapsed generator is stable to a few percent at 200 steps and tens of times
 * larger than the seed-to-seed spread, while real images score ≈ 0; at 100 steps the collapsed Ŵ still varies by a
 * third between seeds. A generator close to the data (real images plus pixel noise) is only barely told from the
 * data at 200 steps — that takes about twice the steps. So 200 steps is a coarse estimate: enough to rank a
 * collapsed model well below a decent one, not to converge or to order two near-perfect models.
 */
export const QUICK_EVAL: EvalProtocol = {
  inceptionSamples: 1_000,
  inceptionSplits: 10,
  diversityBatches: 5,
  diversityBatchSize: 64,
  criticSteps: 200,
  criticBatchSize: 64,
  criticWidth: 0.25,
  criticLr: 1e-4,
  criticBeta1: 0.5,
  criticBeta2: 0.9,
  criticGpLambda: 10,
  fidSamples: 1_000,
  classifierSteps: 300,
  modesSamples: 1_000,
  modesMinCount: 3,
};

/**
 * Seconds of training each quickstart trial aims for: enough for DCGAN to get past the point where its ColorMNIST
 * samples stop being noise (about 600 steps), while the quickstart stays well inside 15 minutes (bench/README.md,
 * "The quick budget") although every trial scores twice at its end (validation, then the selected checkpoint on
 * test). The quick budget is a smoke test of the whole loop, not a study: raising this constant scales every
 * model's step count with it.
 */
export const QUICK_TRAIN_SECONDS = 120;
/** network width of the quick budget (× the paper widths; conv widths floor at 8 channels) */
export const QUICK_WIDTH = 0.25;
/** minibatch of the quick budget */
export const QUICK_BATCH = 32;

/**
 * trainStep cost in ms of process CPU time (28×28×3, QUICK_WIDTH, QUICK_BATCH, the models' default schedules —
 * WGAN-GP 5 critic updates, AGE 1 encoder + 2 generator updates — one intra-op thread, as each of the quickstart's
 * two parallel trials gets). CPU time rather than wall time, because it is what a trial owning one core spends
 * whatever else loads the machine. How these were measured, and why a narrower width buys little:
 * bench/README.md, "The quick budget".
 */
export const QUICK_STEP_TIMES_MS: Record<ModelName, number> = {
  dcgan: 191,
  'wgan-gp': 655,
  age: 294,
  'alpha-gan': 331,
};

/** QUICK_TRAIN_SECONDS of measured steps (default schedules), rounded down to a multiple of 10 */
export function quickSteps(model: ModelName): number {
  return stepsInSeconds(QUICK_TRAIN_SECONDS, QUICK_STEP_TIMES_MS[model]);
}

/**
 * Seconds of training per trial of the cpu budget on one core: long enough for each model's samples to become
 * recognisable digits (bench/README.md, "The cpu budget"), short enough that sweeps/colormnist-cpu.ts (24 trials,
 * two at a time) finishes within two hours on two cores, evaluations included.
 */
export const CPU_TRAIN_SECONDS = 330;
/** network width of the cpu budget (× the paper widths) */
export const CPU_WIDTH = 0.25;
/** minibatch of the cpu budget: the paper's */
export const CPU_BATCH = 64;
/** validation scorings per cpu trial (at a third, two thirds and the end of training) */
export const CPU_EVALUATIONS = 3;
/**
 * Independent-critic steps of the cpu protocol. At 400 steps, Ŵ of a generator close to the data (real digits with
 * σ 0.2 pixel noise) is 3.6 ± 0.4 (std over 3 critic seeds) against −0.03 ± 0.02 for real digits and 42 ± 0.5 for a
 * collapsed one (bench/results/critic-noise-quick.json); at 200 steps the close generator is barely told from the
 * data (0.4 ± 0.3).
 */
export const CPU_CRITIC_STEPS = 400;

/**
 * trainStep wall time in ms, one intra-op thread, on an otherwise idle core: 28×28×3, CPU_WIDTH, CPU_BATCH, the
 * models' default schedules, fused kernels (bench/README.md, "The cpu budget").
 */
export const CPU_STEP_TIMES_MS: Record<ModelName, number> = {
  dcgan: 60,
  'wgan-gp': 330,
  age: 110,
  'alpha-gan': 170,
};

/** The cpu protocol: paper-spec §5's statistics at 5,000 samples, the quick critic's width trained longer. */
export const CPU_EVAL: EvalProtocol = {
  ...QUICK_EVAL,
  inceptionSamples: 5_000,
  fidSamples: 5_000,
  criticSteps: CPU_CRITIC_STEPS,
  classifierSteps: 1_000,
};

/** CPU_TRAIN_SECONDS of measured steps (default schedules), rounded down to a multiple of 10 */
export function cpuSteps(model: ModelName): number {
  return stepsInSeconds(CPU_TRAIN_SECONDS, CPU_STEP_TIMES_MS[model]);
}

function stepsInSeconds(seconds: number, msPerStep: number): number {
  return Math.max(20, Math.floor((seconds * 1000) / msPerStep / 10) * 10);
}

function paperGeneratorUpdates(dataset: DatasetName): number {
  return dataset === 'colormnist' || dataset === 'synthetic' ? 100_000 : 200_000;
}

/** A length measured in steps of the model's default schedule, stated as the generator updates it makes. */
function generatorUpdatesOf(steps: number, model: ModelName): TrainFor {
  return { unit: 'generator_updates', amount: steps * defaultHyperparameters(model).nG };
}

type PresetWithoutSteps = Omit<Preset, 'steps'>;

function buildPreset(model: ModelName, dataset: DatasetName, budget: Budget): Preset {
  const preset = presetWithoutSteps(model, dataset, budget);
  return { ...preset, steps: stepsFor(preset.trainFor, preset) };
}

function presetWithoutSteps(model: ModelName, dataset: DatasetName, budget: Budget): PresetWithoutSteps {
  const resolution = RESOLUTION[dataset];
  const arch = defaultArchitecture(resolution, 3);
  const hp = defaultHyperparameters(model);
  if (dataset === 'synthetic') {
    // test-sized: the narrowest networks, small batches, a handful of steps
    return {
      model,
      dataset,
      budget,
      arch: { ...arch, zDim: 16, widthMultiplier: 0.125 },
      hp: { ...hp, batchSize: 16 },
      trainFor: generatorUpdatesOf(budget === 'paper' ? 200 : 20, model),
      checkpointEvery: 10,
      sampleEvery: 10,
      logEvery: 5,
      evaluations: 1,
      eval: {
        inceptionSamples: 100,
        inceptionSplits: 10,
        diversityBatches: 2,
        diversityBatchSize: 8,
        criticSteps: 20,
        criticBatchSize: 16,
        // tiny like the synthetic networks, fixed by the protocol (not taken from the trial)
        criticWidth: 0.125,
        fidSamples: 100,
        classifierSteps: 20,
      },
    };
  }
  if (budget === 'paper') {
    return {
      model,
      dataset,
      budget,
      arch,
      hp,
      trainFor: { unit: 'generator_updates', amount: paperGeneratorUpdates(dataset) },
      checkpointEvery: 5_000,
      sampleEvery: 5_000,
      logEvery: 100,
      evaluations: 1,
      eval: { ...PAPER_EVAL },
    };
  }
  if (budget === 'cpu') return cpuPreset(model, dataset, arch, hp);
  const steps = quickSteps(model);
  return {
    model,
    dataset,
    budget,
    arch: { ...arch, widthMultiplier: QUICK_WIDTH },
    hp: { ...hp, batchSize: QUICK_BATCH },
    trainFor: generatorUpdatesOf(steps, model),
    // a checkpoint and a grid half-way and at the end: cheap at this size, and a killed trial loses ≤ 30 s
    checkpointEvery: Math.ceil(steps / 2),
    sampleEvery: Math.ceil(steps / 2),
    logEvery: 10,
    evaluations: 1,
    eval: { ...QUICK_EVAL },
  };
}

function cpuPreset(
  model: ModelName,
  dataset: DatasetName,
  arch: ArchitectureConfig,
  hp: ModelHyperparameters,
): PresetWithoutSteps {
  const steps = cpuSteps(model);
  const evalEvery = Math.ceil(steps / CPU_EVALUATIONS);
  return {
    model,
    dataset,
    budget: 'cpu',
    arch: { ...arch, widthMultiplier: CPU_WIDTH },
    hp: { ...hp, batchSize: CPU_BATCH },
    trainFor: generatorUpdatesOf(steps, model),
    // about a minute of training lost at most when a trial is killed; a grid at every validation scoring
    checkpointEvery: Math.ceil(steps / 6),
    sampleEvery: evalEvery,
    logEvery: 20,
    evaluations: CPU_EVALUATIONS,
    eval: { ...CPU_EVAL },
  };
}

/** The preset of (model, dataset, budget), validated; errors name the bad argument and the allowed values. */
export function getPreset(model: ModelName, dataset: DatasetName, budget: Budget = 'paper'): Preset {
  if (!MODEL_NAMES.includes(model))
    throw new Error(`getPreset: unknown model '${String(model)}' (expected one of ${MODEL_NAMES.join(', ')})`);
  if (!PRESET_DATASETS.includes(dataset)) {
    throw new Error(`getPreset: unknown dataset '${String(dataset)}' (expected one of ${PRESET_DATASETS.join(', ')})`);
  }
  if (!BUDGETS.includes(budget))
    throw new Error(`getPreset: unknown budget '${String(budget)}' (expected one of ${BUDGETS.join(', ')})`);
  const parsed = PresetSchema.safeParse(buildPreset(model, dataset, budget));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`preset ${model}/${dataset}/${budget} is invalid (a bug in experiments/index.ts): ${issues}`);
  }
  return parsed.data as Preset;
}

export interface DatasetSpecOptions {
  /** the dataset's directory (CIFAR-10 batches, image folder) or, for ColorMNIST, a folder of MNIST IDX files */
  dir?: string;
}

/**
 * The dataset spec a budget trains on. ColorMNIST: the 10,000 real digits of the `mnist` package (or IDX files
 * in `dir`); CIFAR-10 / CelebA / folder: the files in `dir` (default DEFAULT_DATA_DIRS); synthetic: 28×28×3
 * squares, 1,024 images (fast to build).
 */
export function datasetSpecFor(
  dataset: DatasetName,
  budget: Budget = 'paper',
  opts: DatasetSpecOptions = {},
): DatasetSpec {
  if (!BUDGETS.includes(budget))
    throw new Error(`datasetSpecFor: unknown budget '${String(budget)}' (expected one of ${BUDGETS.join(', ')})`);
  let spec: DatasetSpec;
  switch (dataset) {
    case 'colormnist':
      spec = opts.dir !== undefined ? { name: 'colormnist', mnistDir: opts.dir } : { name: 'colormnist' };
      break;
    case 'cifar10':
      spec = { name: 'cifar10', dir: opts.dir ?? DEFAULT_DATA_DIRS.cifar10 };
      break;
    case 'celeba':
      spec = { name: 'celeba', dir: opts.dir ?? DEFAULT_DATA_DIRS.celeba, size: 64 };
      break;
    case 'folder':
      spec = { name: 'folder', dir: opts.dir ?? DEFAULT_DATA_DIRS.folder, size: 64 };
      break;
    case 'synthetic':
      spec = { name: 'synthetic', resolution: 28, channels: 3, size: budget === 'quick' ? 512 : 2048, seed: 0 };
      break;
    default:
      throw new Error(
        `datasetSpecFor: unknown dataset '${String(dataset)}' (expected one of ${PRESET_DATASETS.join(', ')})`,
      );
  }
  return DatasetSpecSchema.parse(spec);
}
