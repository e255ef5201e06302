/**
 * One trial, start to finish, idempotently, in four phases that read top to bottom in runTrial:
 *   1. open or reuse the trial's MLflow run, or skip the trial (trial/open-run.ts),
 *   2. train in segments, resuming from runs/<sweep>/<trialId>/ when a checkpoint is there,
 *   3. evaluate on the validation split at the end of each segment, keeping the checkpoint of the best
 *      validation step (trial/train-segments.ts, trial/selection*.ts, trial/work.ts),
 *   4. score that checkpoint once on the test split (trial/held-out.ts), then record the outcome: best_* (on
 *      validation), samples.png from the selected checkpoint, artifacts, the run's final status (trial/recorder.ts).
 * The trainer emits events and never talks to the tracker; the recorder is where the two meet. Every tracker call
 * goes through a TimedTracker, whose totals become perf/tracking_seconds.
 */
import { latestCheckpoint } from '../train/index.js';
import { criticMemorisationWarning } from '../../metrics/protocol.js';
import type { GanModel } from '../models/types.js';
import type { TrainResult } from '../train/types.js';
import { TAGS } from '../tracking/types.js';
import { defaultCacheDir } from './dataset-classifiers.js';
import type { Trial } from './expand.js';
import { TimedTracker } from './timed-tracker.js';
import { TrialClock } from './trial/clock.js';
import { isOpenRun, openTrialRun } from './trial/open-run.js';
import { TrialRecorder } from './trial/recorder.js';
import { scoreSelectedOnTest } from './trial/held-out.js';
import { evaluationSeeds } from './trial/selection.js';
import { trainInSegments, type TrainedTrial } from './trial/train-segments.js';
import type { RunTrialOptions, TrialOutcome, TrialTiming } from './trial/types.js';
import { listFiles, loadModelAndData, saveFinalSampleGrid, type TrialWork } from './trial/work.js';

export { findTrialRun, PHASE_TAG, trialDir } from './trial/open-run.js';
export { RESUMED_FROM_TAG } from './trial/recorder.js';
export { TrialStatusSchema } from './trial/types.js';
export type { RunTrialOptions, TrialOutcome, TrialStatus, TrialTiming } from './trial/types.js';

/** MLflow keeps tag values up to 8,000 characters (5,000 on older servers) */
const MAX_TAG_CHARS = 4_000;

/** What the outcome phase needs from the phases before it. */
interface TrialSession {
  trial: Trial;
  work: TrialWork;
  recorder: TrialRecorder;
  tracker: TimedTracker;
  clock: TrialClock;
  log: (line: string) => void;
}

export async function runTrial(trial: Trial, opts: RunTrialOptions): Promise<TrialOutcome> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clock = new TrialClock();
  const tracker = new TimedTracker(opts.tracker);
  const opened = await openTrialRun(trial, { ...opts, tracker, log });
  if (!isOpenRun(opened)) return opened;
  const recorder = new TrialRecorder(tracker, opened.runId, trial, log);
  let model: GanModel | undefined;
  try {
    const resumedStep = await resumePoint(trial, opened.dir, recorder, log);
    await recorder.evaluationSeeds(evaluationSeeds(trial.seed));
    const loaded = await loadModelAndData(trial);
    model = loaded.model;
    const memorises = criticMemorisationWarning(trial.eval, loaded.dataset.validation.size);
    if (memorises && trial.metrics.includes('critic_w')) await recorder.warn(memorises);
    const cacheDir = opts.cacheDir ?? defaultCacheDir();
    const work: TrialWork = {
      trial,
      dir: opened.dir,
      ...loaded,
      signal: opts.signal,
      cacheDir,
      log,
      onPhase: opts.onPhase,
    };
    const trained = await trainInSegments(work, recorder, clock, resumedStep, opts.onEvent);
    return await recordOutcome({ trial, work, recorder, tracker, clock, log }, trained);
  } catch (e) {
    return recordFailure(trial, e, recorder, () => clock.timing(tracker.totalMs), log);
  } finally {
    model?.dispose();
    // the claim ends once the run's final status is recorded, so a waiting worker then sees it
    await opened
      .release()
      .catch((e: unknown) => log(`[trial ${trial.index}] could not release the claim: ${errorText(e)}`));
  }
}

/** The step the trial's checkpoints have reached (0 without one), noted on the run. */
async function resumePoint(
  trial: Trial,
  dir: string,
  recorder: TrialRecorder,
  log: (l: string) => void,
): Promise<number> {
  const checkpoint = await latestCheckpoint(dir);
  if (!checkpoint) return 0;
  log(`[trial ${trial.index}] resuming from checkpoint step ${checkpoint.step} (${checkpoint.dir})`);
  await recorder.resumedFrom(checkpoint.step);
  return checkpoint.step;
}

async function recordOutcome(s: TrialSession, trained: TrainedTrial): Promise<TrialOutcome> {
  const { trial, recorder, log } = s;
  const { result, evaluations } = trained;
  const timing = () => s.clock.timing(s.tracker.totalMs);
  const runId = recorder.runId;
  if (result?.status === 'diverged') {
    const step = trained.divergedAt ?? result.step;
    log(`[trial ${trial.index}] diverged at step ${step}`);
    const tags = { [TAGS.divergedAtStep]: String(step), [TAGS.error]: `diverged (NaN/Inf loss) at step ${step}` };
    await recorder.finish('FAILED', tags, timing);
    return { status: 'diverged', runId, step, resumedFrom: result.resumedFrom, timing: timing() };
  }
  if (result?.status === 'aborted' || s.work.signal?.aborted || evaluations.at(-1)?.step !== trial.steps) {
    return interrupted(s, result);
  }
  await recorder.best(evaluations);
  const held = await scoreSelectedOnTest(s.work, trained.selected, recorder, s.clock);
  if (!held.done) return interrupted(s, result);
  const gridPath = await saveFinalSampleGrid(s.work);
  const checkpointDir = result?.checkpointDir;
  const checkpoints = [
    ...(checkpointDir ? [{ artifactDir: 'checkpoint', dir: checkpointDir }] : []),
    ...(held.selectedDir ? [{ artifactDir: 'selected_checkpoint', dir: held.selectedDir }] : []),
  ];
  await recorder.artifacts(
    gridPath,
    await Promise.all(checkpoints.map(async (c) => ({ ...c, files: await listFiles(c.dir) }))),
  );
  await recorder.finish('FINISHED', {}, timing);
  logTimes(s);
  return {
    status: 'finished',
    runId,
    step: result?.step,
    resumedFrom: result?.resumedFrom ?? null,
    scores: evaluations.find((e) => e.step === held.step)?.scores,
    timing: timing(),
  };
}

/** Ends the run KILLED: the next run resumes from the last checkpoint and the evaluations kept in the trial's folder. */
async function interrupted(s: TrialSession, result: TrainResult | undefined): Promise<TrialOutcome> {
  const timing = () => s.clock.timing(s.tracker.totalMs);
  const at = result?.step ?? '?';
  s.log(`[trial ${s.trial.index}] interrupted at step ${at}; the next run resumes from the last checkpoint`);
  await s.recorder.finish('KILLED', {}, timing);
  return {
    status: 'interrupted',
    runId: s.recorder.runId,
    step: result?.step,
    resumedFrom: result?.resumedFrom ?? null,
    timing: timing(),
  };
}

function logTimes({ trial, tracker, clock, log }: TrialSession): void {
  const t = clock.timing(tracker.totalMs);
  const byCall = tracker.byMethod().map(([method, ms]) => `${method} ${(ms / 1000).toFixed(2)} s`);
  log(`[trial ${trial.index}] tracker time by call: ${byCall.join(', ')}`);
  const share = ((100 * t.trackingSec) / Math.max(t.trialSec, 1e-9)).toFixed(2);
  log(
    `[trial ${trial.index}] finished in ${t.trialSec.toFixed(1)} s (train ${t.trainSec.toFixed(1)} s, ` +
      `eval ${t.evalSec.toFixed(1)} s, tracking ${t.trackingSec.toFixed(2)} s = ${share}%; ` +
      `CPU ${t.cpuSec.toFixed(1)} s)`,
  );
}

async function recordFailure(
  trial: Trial,
  error: unknown,
  recorder: TrialRecorder,
  timing: () => TrialTiming,
  log: (line: string) => void,
): Promise<TrialOutcome> {
  const message = errorText(error);
  log(`[trial ${trial.index}] failed: ${message.split('\n')[0]}`);
  try {
    await recorder.finish('FAILED', { [TAGS.error]: message }, timing);
  } catch (trackingError) {
    log(
      `[trial ${trial.index}] could not record the failure in the tracker: ${errorText(trackingError).split('\n')[0]}`,
    );
  }
  return { status: 'failed', runId: recorder.runId, error: message, timing: timing() };
}

function errorText(e: unknown): string {
  const s = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return s.length > MAX_TAG_CHARS ? `${s.slice(0, MAX_TAG_CHARS - 3)}...` : s;
}
