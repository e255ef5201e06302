/**
 * The first phase of a trial: find its MLflow run by tag ganstudy.trial_id and decide what to do with it.
 *
 *   FINISHED run for this trialId      → skip
 *   FAILED with ganstudy.diverged_at_step → skip (divergence is a deterministic result; `retryDiverged` re-runs it)
 *   any other run (RUNNING after a crash, KILLED after Ctrl-C, FAILED with an error) → reuse it and resume
 *   none                                → create it
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TAGS, type Run, type Tracker } from '../../tracking/types.js';
import type { Trial } from '../expand.js';
import { runCreationTags, writeRunRecord } from '../../tracking/run-record.js';
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
}

/** The trial's run, ready to train into: its id and the folder that holds its checkpoints. */
export interface OpenRun {
  runId: string;
  dir: string;
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

/** Skips the trial, or reuses or creates its run and records its configuration (params, config.json). */
export async function openTrialRun(trial: Trial, opts: OpenRunOptions): Promise<OpenRun | TrialOutcome> {
  const { tracker } = opts;
  const existing = await findTrialRun(tracker, opts.experimentId, trial.trialId);
  const skip = skipOutcome(existing, opts.retryDiverged ?? false);
  if (skip) return skip;
  const dir = trialDir(opts.runsDir, trial);
  await mkdir(dir, { recursive: true });
  const configPath = path.join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(trial, null, 2) + '\n');
  const runId = existing ? await reuseRun(trial, existing, opts) : await createRun(trial, opts);
  if (opts.threads !== undefined) await tracker.setTags(runId, { 'ganstudy.threads': String(opts.threads) });
  await tracker.logArtifact(runId, configPath, '');
  return { runId, dir };
}

/** A run left RUNNING, KILLED or FAILED: running again, without the tags of its last end. */
async function reuseRun(trial: Trial, existing: Run, opts: OpenRunOptions): Promise<string> {
  const { tracker } = opts;
  const runId = existing.info.runId;
  opts.log(`[trial ${trial.index}] reusing run ${runId} (was ${existing.info.status})`);
  await tracker.setRunStatus(runId, 'RUNNING');
  for (const key of [TAGS.error, TAGS.divergedAtStep]) {
    if (existing.tags[key] !== undefined) await tracker.deleteTag(runId, key);
  }
  await writeRunRecord(tracker, runId, trial, existing);
  return runId;
}

async function createRun(trial: Trial, opts: OpenRunOptions): Promise<string> {
  const info = await opts.tracker.createRun(opts.experimentId, { runName: trial.runName, tags: runCreationTags(trial) });
  await writeRunRecord(opts.tracker, info.runId, trial);
  return info.runId;
}

export function isOpenRun(x: OpenRun | TrialOutcome): x is OpenRun {
  return !('status' in x);
}
