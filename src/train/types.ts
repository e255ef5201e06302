/**
 * The trainer's contract. The trainer emits events; whoever runs it (CLI, sweep trial) decides what
 * to show or log. It never talks to the tracker itself.
 */
import type { DatasetSplit } from '../data/types.js';
import type { GanModel, Losses } from '../models/types.js';
import type { UpdateCounts } from './counters.js';

export type TrainEvent =
  | { type: 'start'; step: number; totalSteps: number; resumedFrom: number | null }
  | {
      type: 'progress';
      step: number;
      totalSteps: number;
      losses: Losses;
      stepsPerSec: number;
      etaSec: number;
      /** work done by the end of `step`, counted from the model's schedule */
      counts: UpdateCounts;
    }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'samples'; step: number; path: string }
  | { type: 'diverged'; step: number; losses: Losses };

export interface TrainOptions {
  model: GanModel;
  data: DatasetSplit;
  /** total optimisation steps (a step = one call of model.trainStep) */
  steps: number;
  seed: number;
  /** checkpoints under `${runDir}/checkpoints/step-<n>/`, sample grids under `${runDir}/samples/` */
  runDir: string;
  checkpointEvery: number;
  sampleEvery: number;
  /** emit a 'progress' event every this many steps */
  logEvery: number;
  onEvent?: (event: TrainEvent) => void;
  signal?: AbortSignal;
  /** one-line warnings, e.g. a damaged checkpoint skipped on resume (default: stderr) */
  warn?: (line: string) => void;
}

export interface TrainResult {
  status: 'finished' | 'diverged' | 'aborted';
  /** last completed step */
  step: number;
  resumedFrom: number | null;
  lastLosses: Losses;
  /** the checkpoint written at the end (finished) or last good one */
  checkpointDir: string | null;
}
