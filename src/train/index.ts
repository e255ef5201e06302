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
  const options = parseTrainOptions(opts);
  assertTrainingBackend();
  const rows = rowsPerStep(options.model.config);
  const run = new TrainingRun(options, rows, await resumePosition(options, rows));
  run.start();
  if (run.position.step >= options.steps) return run.result('finished');
  return run.loop();
}

/** Validates the numeric options and makes the run folder absolute. */
function parseTrainOptions(opts: TrainOptions): TrainOptions {
  const parsed = NumericOptionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`train: invalid options: ${issues}`);
  }
  return { ...opts, runDir: path.resolve(opts.runDir) };
}

/** Where a run stands; advanced by each completed step and saved in every checkpoint. */
interface RunPosition {
  step: number;
  nextBatch: number;
  resumedFrom: number | null;
  lastLosses: Losses;
  lastCheckpoint: { step: number; dir: string } | null;
}

/** Restores the newest valid checkpoint into the model (unless it already holds it) and returns its position. */
async function resumePosition(opts: TrainOptions, rows: number): Promise<RunPosition> {
  const { model, runDir, seed } = opts;
  const known = modelPositions.get(model);
  const latest = await loadLatestCheckpoint(runDir, model, {
    warn: opts.warn ?? ((line) => void process.stderr.write(`${line}\n`)),
    check: (state, ckpt) => checkResumable(state, ckpt.dir, model.config.model, rows, seed),
    // consecutive train() calls on one model in this process: the model already holds that checkpoint's state
    skipLoad: (state) => known !== undefined && known.runDir === runDir && known.step === state.step,
  });
  if (latest) {
    const { step, nextBatch, lastLosses } = latest.state;
    return { step, nextBatch, lastLosses, resumedFrom: step, lastCheckpoint: { step: latest.step, dir: latest.dir } };
  }
  if (known && known.step !== 0) {
    throw new Error(
      `train: this model was already trained (step ${known.step}) but ${runDir} holds no checkpoint; ` +
        'create a fresh model',
    );
  }
  return { step: 0, nextBatch: 0, resumedFrom: null, lastLosses: {}, lastCheckpoint: null };
}

/** The loss window and step rates behind 'progress' events. */
class ProgressMeter {
  private readonly window: Losses[] = [];
  private windowStart = performance.now();
  // for the ETA: the rate over the whole of this call, which is steadier than one window's
  private readonly callStart = performance.now();

  constructor(private readonly callStartStep: number) {}

  add(losses: Losses): void {
    this.window.push(losses);
  }

  /** The 'progress' event after `step`; starts a new window. */
  report(step: number, totalSteps: number, config: GanModel['config']): TrainEvent {
    const now = performance.now();
    const stepsPerSec = this.window.length / Math.max((now - this.windowStart) / 1000, 1e-9);
    const overallRate = (step - this.callStartStep) / Math.max((now - this.callStart) / 1000, 1e-9);
    const event: TrainEvent = {
      type: 'progress',
      step,
      totalSteps,
      losses: meanLosses(this.window),
      stepsPerSec,
      etaSec: (totalSteps - step) / overallRate,
      counts: countsAfter(config, step),
    };
    this.window.length = 0;
    this.windowStart = performance.now();
    return event;
  }
}

/** One train() call: its position, the step loop, and the progress/sample/checkpoint bookkeeping after each step. */
class TrainingRun {
  constructor(
    private readonly opts: TrainOptions,
    private readonly rows: number,
    readonly position: RunPosition,
  ) {}

  start(): void {
    const { step, resumedFrom } = this.position;
    this.remember(step);
    this.emit({ type: 'start', step, totalSteps: this.opts.steps, resumedFrom });
  }

  async loop(): Promise<TrainResult> {
    const { model, data, seed, steps, signal } = this.opts;
    const pos = this.position;
    const stream = data.batches(this.rows, seed, pos.nextBatch);
    const progress = new ProgressMeter(pos.step);
    while (pos.step < steps) {
      if (signal?.aborted) return this.abort();
      const losses = tf.tidy(() => {
        const batch = stream.next().value as { x: Parameters<GanModel['trainStep']>[0] };
        return model.trainStep(batch.x);
      });
      if (firstNonFinite(losses) !== null) return this.diverge(losses);
      pos.step++;
      pos.nextBatch++;
      pos.lastLosses = losses;
      progress.add(losses);
      this.remember(pos.step);
      await this.afterStep(progress);
      // lets an abort signal (SIGINT handler) and pending I/O run between synchronous training steps
      await yieldToEventLoop();
    }
    return this.result('finished');
  }

  /** Progress, then sample grid, then checkpoint, each when its interval (or the last step) comes round. */
  private async afterStep(progress: ProgressMeter): Promise<void> {
    const { steps, logEvery, sampleEvery, checkpointEvery } = this.opts;
    const { step } = this.position;
    if (step % logEvery === 0 || step === steps) this.emit(progress.report(step, steps, this.opts.model.config));
    if (sampleEvery > 0 && (step % sampleEvery === 0 || step === steps)) await this.samples();
    if (step % checkpointEvery === 0 || step === steps) await this.checkpoint();
  }

  private async abort(): Promise<TrainResult> {
    await this.checkpoint();
    this.remember(this.position.step);
    return this.result('aborted');
  }

  private diverge(losses: Losses): TrainResult {
    // the model now holds the diverged state: forget its position so a later call reloads the last checkpoint
    this.remember(-1);
    const divergedAt = this.position.step + 1;
    this.emit({ type: 'diverged', step: divergedAt, losses });
    return { ...this.result('diverged'), step: divergedAt, lastLosses: losses };
  }

  private async checkpoint(): Promise<void> {
    const pos = this.position;
    if (pos.lastCheckpoint?.step === pos.step) return;
    const dir = await writeCheckpoint(this.opts.runDir, this.opts.model, this.trainerState(), KEEP_CHECKPOINTS);
    pos.lastCheckpoint = { step: pos.step, dir };
    this.emit({ type: 'checkpoint', step: pos.step, dir });
  }

  private async samples(): Promise<void> {
    const { step } = this.position;
    const file = path.join(this.opts.runDir, 'samples', `step-${step}.png`);
    const x = this.opts.model.sample(SAMPLE_GRID_SIZE, sampleSeed(this.opts.seed));
    try {
      await saveImageGrid(x, file);
    } finally {
      x.dispose();
    }
    this.emit({ type: 'samples', step, path: file });
  }

  private trainerState(): TrainerState {
    const { step, nextBatch, lastLosses } = this.position;
    const config = this.opts.model.config;
    return {
      format: 'ganstudy-trainer-v1',
      step,
      nextBatch,
      rowsPerStep: this.rows,
      dataSeed: this.opts.seed,
      model: config.model,
      modelSeed: config.seed,
      lastLosses,
      savedAt: new Date().toISOString(),
    };
  }

  result(status: TrainResult['status']): TrainResult {
    const { step, resumedFrom, lastLosses, lastCheckpoint } = this.position;
    return { status, step, resumedFrom, lastLosses, checkpointDir: lastCheckpoint?.dir ?? null };
  }

  private remember(step: number): void {
    modelPositions.set(this.opts.model, { runDir: this.opts.runDir, step });
  }

  private emit(event: TrainEvent): void {
    this.opts.onEvent?.(event);
  }
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
