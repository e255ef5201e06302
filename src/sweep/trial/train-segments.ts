/**
 * Training in segments: train to the next scoring step, score on the validation split, record, keep the
 * checkpoint of the best validation step, repeat until the last step (one segment when the sweep asks for no
 * intermediate scores). Stops early when training diverges or is aborted, or when an abort cuts evaluation short.
 * Validation scores of earlier runs of this trial (before a resume) come from the trial's folder, and a step
 * already scored there is not scored again.
 */
import { checkpointDir } from '../../train/index.js';
import type { TrainEvent, TrainResult } from '../../train/types.js';
import type { TrialClock } from './clock.js';
import type { TrialRecorder } from './recorder.js';
import { bestEvaluation, evaluationSeeds, withEvaluation } from './selection.js';
import {
  readSelected,
  readValScores,
  saveSelected,
  writeValScores,
  type SelectedCheckpoint,
} from './selection-store.js';
import type { Evaluation } from './types.js';
import { evaluateNow, segmentTargets, trainSegment, type TrialWork } from './work.js';

export interface TrainedTrial {
  /** the last segment's result (undefined only if there was no segment to train) */
  result: TrainResult | undefined;
  /** every validation evaluation of the trial, this run's and those before a resume, in step order */
  evaluations: Evaluation[];
  /** the step the trainer reported divergence at, if it did */
  divergedAt: number | null;
  /** the checkpoint of the best validation step so far (null before the first rankable score) */
  selected: SelectedCheckpoint | null;
}

export async function trainInSegments(
  work: TrialWork,
  recorder: TrialRecorder,
  clock: TrialClock,
  resumedStep: number,
  onEvent?: (event: TrainEvent) => void,
): Promise<TrainedTrial> {
  const trained: TrainedTrial = {
    result: undefined,
    evaluations: await readValScores(work.dir),
    divergedAt: null,
    selected: await readSelected(work.dir),
  };
  const handle = (event: TrainEvent): void => {
    onEvent?.(event);
    if (event.type === 'progress') recorder.progress(event);
    else if (event.type === 'diverged') trained.divergedAt = event.step;
  };
  const seed = evaluationSeeds(work.trial.seed).val;
  for (const target of segmentTargets(work.trial, resumedStep)) {
    const result = await clock.measure('train', () => trainSegment(work, target, handle));
    trained.result = result;
    if (result.status !== 'finished' || work.signal?.aborted) break;
    if (trained.evaluations.some((e) => e.step === target)) continue; // scored before a resume
    const report = await clock.measure('eval', () => evaluateNow(work, 'val', seed));
    if (report === null) break;
    await recorder.evaluation(target, report);
    const evaluations = withEvaluation(trained.evaluations, { step: target, scores: report.scores });
    // the copy first: a crash between the two re-scores this step on resume rather than lose its checkpoint
    trained.selected = await keepIfBest(work, evaluations, target, trained.selected);
    await writeValScores(work.dir, evaluations);
    trained.evaluations = evaluations;
  }
  return trained;
}

/** Copies the checkpoint of `step` to selected/ when `step` is now the best validation step. */
async function keepIfBest(
  work: TrialWork,
  evaluations: readonly Evaluation[],
  step: number,
  current: SelectedCheckpoint | null,
): Promise<SelectedCheckpoint | null> {
  const metric = work.trial.selectionMetric;
  const best = bestEvaluation(evaluations, metric);
  if (best?.step !== step || current?.step === step) return current;
  work.log(`[trial ${work.trial.index}] step ${step} is the best so far on val/${metric}: keeping its checkpoint`);
  return saveSelected(work.dir, { step, metric }, checkpointDir(work.dir, step));
}
