/**
 * The training loop shared by `ganstudy train` and sweep trials.
 *
 * - Resume: the newest checkpoint under `${runDir}/checkpoints/step-<n>/` whose checksums verify restores the model
 *   (weights, optimizer slots, step counter) and the data stream position, so steps k+1… of a resumed run see the
 *   same batches and the same random draws as an uninterrupted run. An invalid checkpoint is reported in one line
 *   (`warn`) and the one before is used (see checkpoint.ts).
 * - Data: step s consumes batch s of `data.batches(rowsPerStep, seed)`; rowsPerStep gives each sub-update that
 *   reads real images its own minibatch (e.g. WGAN-GP's 5 critic updates), as the reference code does.
 * - Divergence: every loss of every step is checked; the first NaN/±Inf stops the run (status 'diverged', with
 *   that step); the bad state is never checkpointed.
 * - Checkpoints every `checkpointEvery` steps, at the end, and on abort (atomic, last two kept); sample grids every
 *   `sampleEvery` steps and at the end, always from the same latent seed so grids are comparable over time.
 * - Memory: each step runs inside tf.tidy and the batch is created there too, so the tensor count stays flat.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { assertTrainingBackend, tf } from '../backend/index.js';
import { saveImageGrid } from '../data/images.js';
import type { GanModel, Losses } from '../models/types.js';
import { loadLatestCheckpoint, writeCheckpoint, type TrainerState } from './checkpoint.js';
import { countsAfter, rowsPerStep } from './counters.js';
import type { TrainEvent, TrainOptions, TrainResult } from './types.js';

export type { TrainEvent, TrainOptions, TrainResult } from './types.js';
export {
  latestCheckpoint,
  listCheckpoints,
  readTrainerState,
  verifyCheckpoint,
  checkpointDir,
  CHECKSUMS_FILE,
  TRAINER_STATE_FILE,
} from './checkpoint.js';
export type { TrainerState } from './checkpoint.js';
export { countsAfter, countsPerStep, rowsPerStep, stepsFor, TrainForSchema, TrainingUnitSchema } from './counters.js';
export type { TrainFor, TrainingUnit, UpdateCounts } from './counters.js';

/** images in each periodic sample grid (8 × 8) */
export const SAMPLE_GRID_SIZE = 64;
/** checkpoints kept per run */
export const KEEP_CHECKPOINTS = 2;

const NumericOptionsSchema = z.object({
  steps: z.number().int().nonnegative(),
  seed: z.number().int(),
  runDir: z.string().min(1),
  checkpointEvery: z.number().int().positive(),
  /** 0 turns periodic sample grids off */
  sampleEvery: z.number().int().nonnegative(),
  logEvery: z.number().int().positive(),
});

/** Fixed latent seed of the sample grids, derived from the run seed. */
export function sampleSeed(seed: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x5a4d504c) >>> 0;
}

/** What this process last left each model at, so consecutive train() calls on one model skip a reload. */
const modelPositions = new WeakMap<GanModel, { runDir: string; step: number }>();

function firstNonFinite(losses: Losses): string | null {
  for (const [k, v] of Object.entries(losses)) if (!Number.isFinite(v)) return k;
  return null;
}

/** Throws when a checkpoint belongs to another model or data stream (a usage error, not damage). */
function checkResumable(state: TrainerState, dir: string, model: string, rows: number, seed: number): void {
  if (state.model !== model) {
    throw new Error(`checkpoint ${dir} is for model '${state.model}', not '${model}': use another run folder`);
  }
  if (state.rowsPerStep !== rows || state.dataSeed !== seed) {
    throw new Error(
      `checkpoint ${dir} was trained with ${state.rowsPerStep} rows per step and data seed ${state.dataSeed}, ` +
        `this run asks for ${rows} and ${seed}: resuming would change the data stream; use another run folder`,
    );
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const parsed = NumericOptionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`train: invalid options: ${issues}`);
  }
  assertTrainingBackend();
  const { model, data, steps, seed, checkpointEvery, sampleEvery, logEvery, signal } = opts;
  const runDir = path.resolve(opts.runDir);
  const emit = (e: TrainEvent): void => opts.onEvent?.(e);
  const config = model.config;
  const rows = rowsPerStep(config);

  // --- resume ---------------------------------------------------------------------------------------------------
  let step = 0;
  let nextBatch = 0;
  let resumedFrom: number | null = null;
  let lastLosses: Losses = {};
  let lastCheckpoint: { step: number; dir: string } | null = null;
  const known = modelPositions.get(model);
  const latest = await loadLatestCheckpoint(runDir, model, {
    warn: opts.warn ?? ((line) => void process.stderr.write(`${line}\n`)),
    check: (state, ckpt) => checkResumable(state, ckpt.dir, config.model, rows, seed),
    // consecutive train() calls on one model in this process: the model already holds that checkpoint's state
    skipLoad: (state) => known !== undefined && known.runDir === runDir && known.step === state.step,
  });
  if (latest) {
    step = latest.state.step;
    nextBatch = latest.state.nextBatch;
    lastLosses = latest.state.lastLosses;
    resumedFrom = latest.state.step;
    lastCheckpoint = { step: latest.step, dir: latest.dir };
  } else if (known && known.step !== 0) {
    throw new Error(`train: this model was already trained (step ${known.step}) but ${runDir} holds no checkpoint; create a fresh model`);
  }
  modelPositions.set(model, { runDir, step });
  emit({ type: 'start', step, totalSteps: steps, resumedFrom });

  const stateAt = (): TrainerState => ({
    format: 'ganstudy-trainer-v1',
    step,
    nextBatch,
    rowsPerStep: rows,
    dataSeed: seed,
    model: config.model,
    modelSeed: config.seed,
    lastLosses,
    savedAt: new Date().toISOString(),
  });
  const checkpoint = async (): Promise<void> => {
    if (lastCheckpoint?.step === step) return;
    const dir = await writeCheckpoint(runDir, model, stateAt(), KEEP_CHECKPOINTS);
    lastCheckpoint = { step, dir };
    emit({ type: 'checkpoint', step, dir });
  };
  const samples = async (): Promise<void> => {
    const file = path.join(runDir, 'samples', `step-${step}.png`);
    const x = model.sample(SAMPLE_GRID_SIZE, sampleSeed(seed));
    try {
      await saveImageGrid(x, file);
    } finally {
      x.dispose();
    }
    emit({ type: 'samples', step, path: file });
  };
  const result = (status: TrainResult['status']): TrainResult => ({
    status,
    step,
    resumedFrom,
    lastLosses,
    checkpointDir: lastCheckpoint?.dir ?? null,
  });

  if (step >= steps) return result('finished');

  // --- the loop -------------------------------------------------------------------------------------------------
  const stream = data.batches(rows, seed, nextBatch);
  const window: Losses[] = [];
  let windowStart = performance.now();
  // for the ETA: the rate over the whole of this call, which is steadier than one window's
  const loopStart = performance.now();
  const loopStartStep = step;
  while (step < steps) {
    if (signal?.aborted) {
      await checkpoint();
      modelPositions.set(model, { runDir, step });
      return result('aborted');
    }
    const losses = tf.tidy(() => {
      const batch = stream.next().value as { x: Parameters<GanModel['trainStep']>[0] };
      return model.trainStep(batch.x);
    });
    const bad = firstNonFinite(losses);
    if (bad !== null) {
      // the model now holds the diverged state: forget its position so a later call reloads the last checkpoint
      modelPositions.set(model, { runDir, step: -1 });
      const divergedAt = step + 1;
      emit({ type: 'diverged', step: divergedAt, losses });
      return { ...result('diverged'), step: divergedAt, lastLosses: losses };
    }
    step++;
    nextBatch++;
    lastLosses = losses;
    window.push(losses);
    modelPositions.set(model, { runDir, step });

    if (step % logEvery === 0 || step === steps) {
      const now = performance.now();
      const stepsPerSec = window.length / Math.max((now - windowStart) / 1000, 1e-9);
      const overallRate = (step - loopStartStep) / Math.max((now - loopStart) / 1000, 1e-9);
      emit({
        type: 'progress',
        step,
        totalSteps: steps,
        losses: meanLosses(window),
        stepsPerSec,
        etaSec: (steps - step) / overallRate,
        counts: countsAfter(config, step),
      });
      window.length = 0;
      windowStart = performance.now();
    }
    if (sampleEvery > 0 && (step % sampleEvery === 0 || step === steps)) await samples();
    if (step % checkpointEvery === 0 || step === steps) await checkpoint();
    // lets an abort signal (SIGINT handler) and pending I/O run between synchronous training steps
    await yieldToEventLoop();
  }
  return result('finished');
}

/** Per-key means over a window of steps (keys missing from a step are averaged over the steps that have them). */
export function meanLosses(window: readonly Losses[]): Losses {
  const sums: Record<string, { s: number; n: number }> = {};
  for (const l of window) {
    for (const [k, v] of Object.entries(l)) {
      const e = (sums[k] ??= { s: 0, n: 0 });
      e.s += v;
      e.n++;
    }
  }
  return Object.fromEntries(Object.entries(sums).map(([k, { s, n }]) => [k, s / n]));
}
