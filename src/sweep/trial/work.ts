/**
 * The work of a trial, which knows nothing of the tracker: build the model and data, train up to a step, score
 * the generator, draw the final sample grid. The recorder (recorder.ts) stores what these return.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { evaluateGenerator, type EvalReport } from '../../../metrics/index.js';
import { tf } from '../../backend/index.js';
import { loadDataset, type Dataset } from '../../data/index.js';
import { saveImageGrid } from '../../data/images.js';
import { buildIndependentCritic, createModel } from '../../models/index.js';
import type { GanModel } from '../../models/types.js';
import { sampleSeed, train } from '../../train/index.js';
import type { TrainEvent, TrainResult } from '../../train/types.js';
import type { Trial } from '../expand.js';
import type { ScoreSplit } from '../../tracking/run-record.js';
import type { TrialActivity } from './types.js';

/** samples in the logged grid (8 × 8) */
const GRID_SAMPLES = 64;

/** What training and evaluating one trial needs. */
export interface TrialWork {
  trial: Trial;
  /** the trial's folder: checkpoints, sample grids, config.json */
  dir: string;
  model: GanModel;
  dataset: Dataset;
  signal?: AbortSignal;
  cacheDir: string;
  log: (line: string) => void;
  onPhase?: (phase: TrialActivity) => void;
}

export async function loadModelAndData(trial: Trial): Promise<{ model: GanModel; dataset: Dataset }> {
  const dataset = await loadDataset(trial.datasetSpec);
  const model = createModel({ model: trial.model, arch: trial.arch, hp: trial.hp, seed: trial.seed });
  return { model, dataset };
}

/**
 * The steps at which training pauses to score the generator: every evalEvery steps from where a resumed run
 * stands (when the sweep asks for intermediate scores), and the last step.
 */
export function segmentTargets(trial: Pick<Trial, 'evalEvery' | 'steps'>, resumedStep: number): number[] {
  const targets: number[] = [];
  if (trial.evalEvery !== null) {
    for (let s = trial.evalEvery; s < trial.steps; s += trial.evalEvery) if (s >= resumedStep) targets.push(s);
  }
  targets.push(trial.steps);
  return targets;
}

/** Trains (or resumes) up to step `target`, checkpointing in the trial's folder. */
export function trainSegment(work: TrialWork, target: number, onEvent: (e: TrainEvent) => void): Promise<TrainResult> {
  const { trial } = work;
  return train({
    model: work.model,
    data: work.dataset.train,
    steps: target,
    seed: trial.seed,
    runDir: work.dir,
    checkpointEvery: trial.checkpointEvery,
    sampleEvery: trial.sampleEvery,
    logEvery: trial.logEvery,
    onEvent,
    signal: work.signal,
    warn: (line: string) => work.log(`[trial ${trial.index}] ${line}`),
  });
}

/**
 * Scores the generator as it stands against one split; null when the signal aborts first (evaluation itself takes
 * no signal). The independent critic always trains on the validation split; `reference` is what every score and
 * every `<metric>_real` is computed against: validation to select, test for the held-out scores of the selection.
 */
export async function evaluateNow(work: TrialWork, split: ScoreSplit, seed: number): Promise<EvalReport | null> {
  const { trial, model } = work;
  work.onPhase?.('eval');
  const evalRun = evaluateGenerator({
    sample: (n: number, s: number) => model.sample(n, s),
    reference: split === 'val' ? work.dataset.validation : work.dataset.test,
    criticTrain: work.dataset.validation,
    classifierData: work.dataset,
    protocol: trial.eval,
    metrics: trial.metrics,
    sampleSeed: seed,
    cacheDir: work.cacheDir,
    // the critic's width and optimiser come from the evaluation protocol, never from the trial's model
    buildCritic: buildIndependentCritic,
    onProgress: (msg: string) => work.log(`[trial ${trial.index}] ${split} eval: ${msg}`),
  });
  return raceAbort(evalRun, work.signal).finally(() => work.onPhase?.('train'));
}

/**
 * Writes samples.png from the trainer's grid seed (the series of samples/step-<n>.png), with the model as it
 * stands: the trial loads the selected checkpoint first.
 */
export async function saveFinalSampleGrid(work: TrialWork): Promise<string> {
  const grid = tf.tidy(() => work.model.sample(GRID_SAMPLES, sampleSeed(work.trial.seed)));
  const gridPath = path.join(work.dir, 'samples.png');
  try {
    await saveImageGrid(grid, gridPath, { cols: 8 });
  } finally {
    grid.dispose();
  }
  return gridPath;
}

export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Resolves with the promise's value, or null as soon as the signal aborts. */
async function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | null> {
  if (!signal) return p;
  if (signal.aborted) return null;
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
