/**
 * Reading a sweep's runs back from the tracking store (every page, through the Tracker) and reducing them to
 * ReportRuns. Runs without the dataset/model tags (not ganstudy trials) and the report's own runs are ignored.
 */
import { runIdentity, TAGS } from '../tracking/run-record.js';
import type { Run, Tracker } from '../tracking/types.js';
import { EVAL_PREFIX, REPORT_TAG, TRAIN_PREFIX, type ReportRun } from './types.js';

export interface SweepRuns {
  sweep: string;
  experimentId: string;
  /** ganstudy trial runs of every status (FAILED ones are counted in the tables, never ranked) */
  runs: ReportRun[];
  /** runs of the experiment that are not trials (report runs, foreign runs) */
  ignored: number;
}

export function isReportRun(run: Run): boolean {
  return run.tags[REPORT_TAG] === 'true';
}

export function toReportRun(run: Run): ReportRun | undefined {
  if (isReportRun(run)) return undefined;
  const identity = runIdentity(run);
  if (!identity) return undefined;
  const { dataset, model } = identity;
  const scores: Record<string, number> = {};
  const trainKeys: string[] = [];
  for (const [key, value] of Object.entries(run.metrics)) {
    if (key.startsWith(EVAL_PREFIX) && Number.isFinite(value)) scores[key.slice(EVAL_PREFIX.length)] = value;
    else if (key.startsWith(TRAIN_PREFIX)) trainKeys.push(key.slice(TRAIN_PREFIX.length));
  }
  trainKeys.sort();
  return {
    runId: run.info.runId,
    runName: run.info.runName || run.tags[TAGS.runName] || run.info.runId,
    experimentId: run.info.experimentId,
    status: run.info.status,
    dataset,
    model,
    scores,
    trainKeys,
    params: run.params,
    tags: run.tags,
  };
}

export async function loadSweepRuns(tracker: Tracker, sweep: string): Promise<SweepRuns> {
  const experimentId = await tracker.getExperimentByName(sweep);
  if (experimentId === undefined) {
    throw new Error(
      `no experiment named '${sweep}' in the tracking store ${tracker.uri}: a sweep logs to the experiment of its name; ` +
        `check --sweep and MLFLOW_TRACKING_URI`,
    );
  }
  const all = await tracker.searchRuns([experimentId]);
  const runs: ReportRun[] = [];
  for (const r of all) {
    const rr = toReportRun(r);
    if (rr) runs.push(rr);
  }
  return { sweep, experimentId, runs, ignored: all.length - runs.length };
}
