/**
 * The first phase of a trial: claim it, find its MLflow run by tag ganstudy.trial_id and decide what to do with it.
 *
 *   FINISHED run for this trialId      → skip
 *   FAILED with ganstudy.diverged_at_step → skip (divergence is a deterministic result; `retryDiverged` re-runs it)
 *   any other run (RUNNING after a crash, KILLED after Ctrl-C, FAILED with an error) → reuse it and resume
 *   none                                → create it
 *
 * Exactly once: the worker first claims the trial (tracking/claim.ts); a worker that finds it claimed by a live
 * worker waits until that one finishes it (then skips) or goes silent (then takes over). The store is not trusted
 * blindly: a run carrying this trial's id with params that differ from the trial's is not its run, and of several
 * runs of one trial only one is kept (finished first, then the most training progress, then the newest); the others
 * lose their trial_id tag, get `ganstudy.superseded` with the reason, and are KILLED when they were left RUNNING.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TrialClaim } from '../../tracking/claim.js';
import { paramString } from '../../tracking/keys.js';
import { TAGS, type Run, type Tracker } from '../../tracking/types.js';
import type { Trial } from '../expand.js';
import { METRIC_KEYS, runCreationTags, runParams, writeRunRecord } from '../../tracking/run-record.js';
import type { TrialOutcome } from './types.js';

export const PHASE_TAG = 'ganstudy.phase';

/** The run holding this trial, if any: a finished one wins, else the most recently started. */
export async function findTrialRun(
  tracker: Tracker,
  experimentId: string,
  trialIdValue: string,
): Promise<Run | undefined> {
  const runs = await searchByTrialId(tracker, experimentId, trialIdValue);
  const finished = runs.find((r) => r.info.status === 'FINISHED');
  if (finished) return finished;
  return runs.sort((a, b) => b.info.startTime - a.info.startTime)[0];
}

async function searchByTrialId(tracker: Tracker, experimentId: string, id: string): Promise<Run[]> {
  let runs: Run[];
  try {
    runs = await tracker.searchRuns([experimentId], `tags.\`${TAGS.trialId}\` = '${id}'`);
  } catch {
    // a store without filter support still answers an unfiltered search
    runs = await tracker.searchRuns([experimentId]);
  }
  return runs.filter((r) => r.tags[TAGS.trialId] === id);
}

export function trialDir(runsDir: string, trial: Pick<Trial, 'sweep' | 'trialId'>): string {
  return path.join(runsDir, trial.sweep, trial.trialId);
}

export interface OpenRunOptions {
  tracker: Tracker;
  experimentId: string;
  runsDir: string;
  threads?: number;
  retryDiverged?: boolean;
  log: (line: string) => void;
  /** stops waiting for another worker's claim */
  signal?: AbortSignal;
}

/** The trial's run, ready to train into: its id, the folder that holds its checkpoints, and the claim's release. */
export interface OpenRun {
  runId: string;
  dir: string;
  /** ends the claim (after the run's final status is recorded) */
  release: () => Promise<void>;
}

/** The tracker's result for a trial that needs no work, or undefined when it must run. */
export function skipOutcome(existing: Run | undefined, retryDiverged: boolean): TrialOutcome | undefined {
  if (existing?.info.status === 'FINISHED') {
    return { status: 'skipped', previous: 'FINISHED', runId: existing.info.runId };
  }
  if (existing && existing.tags[TAGS.divergedAtStep] !== undefined && !retryDiverged) {
    const step = Number(existing.tags[TAGS.divergedAtStep]);
    return { status: 'skipped', previous: 'DIVERGED', runId: existing.info.runId, step };
  }
  return undefined;
}

/** Skips the trial, or claims it, reuses or creates its run and records its configuration (params, config.json). */
export async function openTrialRun(trial: Trial, opts: OpenRunOptions): Promise<OpenRun | TrialOutcome> {
  const { tracker } = opts;
  const retry = opts.retryDiverged ?? false;
  const found = await findTrialRun(tracker, opts.experimentId, trial.trialId);
  const early = found && paramMismatch(found, trial) === undefined ? skipOutcome(found, retry) : undefined;
  if (early) return early;
  const claim = await claimTrial(trial, opts);
  if (!(claim instanceof TrialClaim)) return claim;
  try {
    const existing = await chooseTrialRun(trial, opts);
    const skip = skipOutcome(existing, retry);
    if (skip) {
      await claim.release();
      return skip;
    }
    const dir = trialDir(opts.runsDir, trial);
    await mkdir(dir, { recursive: true });
    const configPath = path.join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify(trial, null, 2) + '\n');
    const runId = existing ? await reuseRun(trial, existing, opts) : await createRun(trial, opts);
    if (opts.threads !== undefined) await tracker.setTags(runId, { 'ganstudy.threads': String(opts.threads) });
    await tracker.logArtifact(runId, configPath, '');
    const release = async (): Promise<void> => {
      await supersedeLateDuplicates(trial, runId, opts);
      await claim.release();
    };
    return { runId, dir, release };
  } catch (e) {
    await claim.release().catch(() => {});
    throw e;
  }
}

/** This worker's claim on the trial, or the outcome of waiting for the worker that holds it. */
async function claimTrial(trial: Trial, opts: OpenRunOptions): Promise<TrialClaim | TrialOutcome> {
  const claim = new TrialClaim(opts.tracker, opts.experimentId, trial.trialId);
  let told = false;
  for (;;) {
    const result = await claim.acquire();
    if (result.won) return claim;
    if (!told) {
      const h = result.holder;
      opts.log(
        `[trial ${trial.index}] another worker holds this trial (${h.host} pid ${h.pid}, claim ${h.worker}): ` +
          'waiting until it finishes or goes silent',
      );
      told = true;
    }
    await pause(claim.timing.heartbeatMs * (0.5 + Math.random()), opts.signal);
    if (opts.signal?.aborted) return { status: 'interrupted', runId: '' };
    const found = await findTrialRun(opts.tracker, opts.experimentId, trial.trialId);
    const done = skipOutcome(found, opts.retryDiverged ?? false);
    if (done) return done;
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** the first param whose value differs between the run and the trial, as `key: run ≠ trial` */
export function paramMismatch(run: Run, trial: Trial): string | undefined {
  for (const [key, value] of Object.entries(runParams(trial))) {
    const have = run.params[key];
    if (have !== undefined && have !== paramString(value)) return `${key}: ${have} ≠ ${paramString(value)}`;
  }
  return undefined;
}

/** how far a run trained (its generator-update counter; -1 without one) */
function progress(run: Run): number {
  return run.metrics[METRIC_KEYS.trainCounters[0]] ?? -1;
}

/** The run to continue or skip on, after marking the runs that are not this trial's or are duplicates. */
async function chooseTrialRun(trial: Trial, opts: OpenRunOptions): Promise<Run | undefined> {
  const runs = await searchByTrialId(opts.tracker, opts.experimentId, trial.trialId);
  const candidates: Run[] = [];
  for (const run of runs) {
    const diff = paramMismatch(run, trial);
    if (diff) await supersede(trial, run, `its params differ from the trial's (${diff})`, opts);
    else candidates.push(run);
  }
  const finishedFirst = (r: Run): number => (r.info.status === 'FINISHED' ? 1 : 0);
  candidates.sort(
    (a, b) => finishedFirst(b) - finishedFirst(a) || progress(b) - progress(a) || b.info.startTime - a.info.startTime,
  );
  const [chosen, ...others] = candidates;
  for (const run of others) {
    const why = `a duplicate of run ${chosen!.info.runId}, which is kept (finished, further or newer)`;
    await supersede(trial, run, why, opts);
  }
  return chosen;
}

/** a run created by a create request whose answer was lost, found only after this worker chose its run */
async function supersedeLateDuplicates(trial: Trial, runId: string, opts: OpenRunOptions): Promise<void> {
  const runs = await searchByTrialId(opts.tracker, opts.experimentId, trial.trialId);
  for (const run of runs) {
    if (run.info.runId === runId || run.info.status === 'FINISHED') continue;
    await supersede(trial, run, `a duplicate of run ${runId}, which holds this trial`, opts);
  }
}

/** marks a run as not this trial's: trial_id removed (so no reader counts it), the reason tagged, RUNNING → KILLED */
async function supersede(trial: Trial, run: Run, reason: string, opts: OpenRunOptions): Promise<void> {
  const { tracker } = opts;
  const runId = run.info.runId;
  opts.log(`[trial ${trial.index}] run ${runId} (${run.info.status}) is not this trial's run: ${reason}`);
  await tracker.setTags(runId, { [TAGS.superseded]: reason, [TAGS.supersededTrialId]: trial.trialId });
  await tracker.deleteTag(runId, TAGS.trialId);
  if (run.info.status === 'RUNNING' || run.info.status === 'SCHEDULED') await tracker.setRunStatus(runId, 'KILLED');
  await tracker.flush();
}

/** A run left RUNNING, KILLED or FAILED: running again, without the tags of its last end. */
async function reuseRun(trial: Trial, existing: Run, opts: OpenRunOptions): Promise<string> {
  const { tracker } = opts;
  const runId = existing.info.runId;
  opts.log(`[trial ${trial.index}] reusing run ${runId} (was ${existing.info.status})`);
  // the run's whole metric history, so no step it holds is logged again (whatever the checkpoint folder holds)
  await tracker.resumeRun(runId);
  await tracker.setRunStatus(runId, 'RUNNING');
  for (const key of [TAGS.error, TAGS.divergedAtStep]) {
    if (existing.tags[key] !== undefined) await tracker.deleteTag(runId, key);
  }
  await writeRunRecord(tracker, runId, trial, existing);
  return runId;
}

async function createRun(trial: Trial, opts: OpenRunOptions): Promise<string> {
  const info = await opts.tracker.createRun(opts.experimentId, {
    runName: trial.runName,
    tags: runCreationTags(trial),
  });
  await writeRunRecord(opts.tracker, info.runId, trial);
  return info.runId;
}

export function isOpenRun(x: OpenRun | TrialOutcome): x is OpenRun {
  return !('status' in x);
}
