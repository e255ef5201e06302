/**
 * Training in segments: train to the next scoring step, score, record, repeat until the last step (one segment
 * when the sweep asks for no intermediate scores). Stops early when training diverges or is aborted, or when an
 * abort cuts evaluation short.
 */
import type { TrainEvent, TrainResult } from '../../train/types.js';
import type { TrialClock } from './clock.js';
import type { TrialRecorder } from './recorder.js';
import type { Evaluation } from './types.js';
import { evaluateNow, segmentTargets, trainSegment, type TrialWork } from './work.js';

export interface TrainedTrial {
  /** the last segment's result (undefined only if there was no segment to train) */
  result: TrainResult | undefined;
  /** the scores recorded, in step order */
  evaluations: Evaluation[];
  /** the step the trainer reported divergence at, if it did */
  divergedAt: number | null;
}

export async function trainInSegments(
  work: TrialWork,
  recorder: TrialRecorder,
  clock: TrialClock,
  resumedStep: number,
  onEvent?: (event: TrainEvent) => void,
): Promise<TrainedTrial> {
  const trained: TrainedTrial = { result: undefined, evaluations: [], divergedAt: null };
  const handle = (event: TrainEvent): void => {
    onEvent?.(event);
    if (event.type === 'progress') recorder.progress(event);
    else if (event.type === 'diverged') trained.divergedAt = event.step;
  };
  for (const target of segmentTargets(work.trial, resumedStep)) {
    const result = await clock.measure('train', () => trainSegment(work, target, handle));
    trained.result = result;
    if (result.status !== 'finished' || work.signal?.aborted) break;
    const report = await clock.measure('eval', () => evaluateNow(work));
    if (report === null) break;
    await recorder.evaluation(target, report);
    trained.evaluations.push({ step: target, scores: report.scores });
  }
  return trained;
}
