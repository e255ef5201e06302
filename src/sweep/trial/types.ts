/** What running one trial takes and returns. */
import { z } from 'zod';
import type { TrainEvent } from '../../train/types.js';
import type { Tracker } from '../../tracking/types.js';

/** How a trial ended (skipped: the tracker already holds its result). */
export const TrialStatusSchema = z.enum(['skipped', 'finished', 'diverged', 'failed', 'interrupted']);
export type TrialStatus = z.infer<typeof TrialStatusSchema>;

/** What a skipped trial found in the tracker. */
export const PreviousResultSchema = z.enum(['FINISHED', 'DIVERGED']);
export type PreviousResult = z.infer<typeof PreviousResultSchema>;

/** What a running trial is doing, for RunTrialOptions.onPhase (distinct from a trial's sweep phase, grid/refine). */
export const TrialActivitySchema = z.enum(['train', 'eval']);
export type TrialActivity = z.infer<typeof TrialActivitySchema>;

export interface TrialOutcome {
  status: TrialStatus;
  runId: string;
  /** for skipped trials: the status found in the tracker */
  previous?: PreviousResult;
  /** last trained step */
  step?: number;
  resumedFrom?: number | null;
  error?: string;
  /** validation scores of the selected step */
  scores?: Record<string, number>;
  timing?: TrialTiming;
}

export interface TrialTiming {
  trialSec: number;
  trainSec: number;
  evalSec: number;
  /** time the trial spent blocked in tracker calls */
  trackingSec: number;
  /** CPU time of the whole process (all TensorFlow threads): what the trial costs on an idle machine */
  cpuSec: number;
}

export interface RunTrialOptions {
  tracker: Tracker;
  experimentId: string;
  /** root of the checkpoint folders: the trial trains in <runsDir>/<sweep>/<trialId>/ */
  runsDir: string;
  signal?: AbortSignal;
  /** intra-op threads this trial was given (recorded as a tag) */
  threads?: number;
  /** where evaluation caches dataset classifiers (default .cache/metrics, or GANSTUDY_CACHE_DIR) */
  cacheDir?: string;
  retryDiverged?: boolean;
  /** training events, e.g. the CLI's progress line */
  onEvent?: (event: TrainEvent) => void;
  /** one-line messages ("resuming from step 40", evaluation progress) */
  log?: (line: string) => void;
  /**
   * Told when evaluation starts and ends. Evaluation runs long synchronous TensorFlow loops that never yield to the
   * event loop, so a JavaScript signal handler cannot run during it: the CLI lets a signal end the process at once
   * then (the training checkpoint is already written; the next run re-evaluates from it).
   */
  onPhase?: (phase: TrialActivity) => void;
}

/** A scored step of the trial. */
export interface Evaluation {
  step: number;
  scores: Record<string, number>;
}
