/**
 * Reading a sweep's runs back from the tracking store (every page, through the Tracker) and reducing them to
 * ReportRuns. Runs without the dataset/model tags (not ganstudy trials) and the report's own runs are ignored; runs
 * that share a trial id (a store written before trial identity was enforced) count once.
 */
import pLimit from 'p-limit';
import { runIdentity, TAGS } from '../tracking/run-record.js';
import type { Run, Tracker } from '../tracking/types.js';
import {
  REPORT_TAG,
  SELECTED_STEP_TAG,
  SETTING_PARAM,
  TEST_PREFIX,
  TRAIN_PREFIX,
  TRIAL_SECONDS_METRIC,
  VAL_PREFIX,
  type ReportRun,
} from './types.js';

export interface SweepRuns {
  sweep: string;
  experimentId: string;
  /** ganstudy trial runs of every status (FAILED ones are counted in the tables, never ranked), deduplicated */
  runs: ReportRun[];
  /** runs of the experiment that are not trials (report runs, foreign runs) */
  ignored: number;
  /** runs dropped because another run of the same trial id was kept */
  duplicates: number;
  /** lines for the README and the console (duplicates found, …) */
  warnings: string[];
  /** the report runs already in the experiment, latest first */
  reportRuns: Run[];
}

export function isReportRun(run: Run): boolean {
  return run.tags[REPORT_TAG] === 'true';
}

function scoresUnder(prefix: string, metrics: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) {
    if (key.startsWith(prefix) && Number.isFinite(value)) out[key.slice(prefix.length)] = value;
  }
  return out;
}

export function toReportRun(run: Run): ReportRun | undefined {
  if (isReportRun(run)) return undefined;
  const identity = runIdentity(run);
  if (!identity) return undefined;
  const trainKeys = Object.keys(run.metrics)
    .filter((k) => k.startsWith(TRAIN_PREFIX))
    .map((k) => k.slice(TRAIN_PREFIX.length))
    .sort();
  const trialId = run.tags[TAGS.trialId] ?? run.params['trial_id'];
  const seconds = run.metrics[TRIAL_SECONDS_METRIC];
  return {
    runId: run.info.runId,
    runName: run.info.runName || run.tags[TAGS.runName] || run.info.runId,
    experimentId: run.info.experimentId,
    status: run.info.status,
    startTime: run.info.startTime,
    ...identity,
    trialId,
    settingId: run.params[SETTING_PARAM] ?? trialId ?? run.info.runId,
    val: scoresUnder(VAL_PREFIX, run.metrics),
    test: scoresUnder(TEST_PREFIX, run.metrics),
    trialSeconds: Number.isFinite(seconds) ? seconds : undefined,
    trainKeys,
    params: run.params,
    tags: run.tags,
  };
}

/** The run a trial id keeps: a FINISHED one over any other status, then the latest start, then the larger id. */
function preferred(a: ReportRun, b: ReportRun): ReportRun {
  const fa = a.status === 'FINISHED';
  const fb = b.status === 'FINISHED';
  if (fa !== fb) return fa ? a : b;
  if (a.startTime !== b.startTime) return a.startTime > b.startTime ? a : b;
  return a.runId > b.runId ? a : b;
}

/** One run per trial id (runs without one are all kept), with a warning line naming what was dropped. */
export function dedupeByTrialId(runs: readonly ReportRun[]): { runs: ReportRun[]; dropped: number; warning?: string } {
  const keep = new Map<string, ReportRun>();
  const shared = new Map<string, number>();
  for (const r of runs) {
    if (r.trialId === undefined) continue;
    const have = keep.get(r.trialId);
    keep.set(r.trialId, have ? preferred(have, r) : r);
    shared.set(r.trialId, (shared.get(r.trialId) ?? 0) + 1);
  }
  const out = runs.filter((r) => r.trialId === undefined || keep.get(r.trialId) === r);
  const dup = [...shared]
    .filter(([, n]) => n > 1)
    .map(([id]) => id)
    .sort();
  if (dup.length === 0) return { runs: out, dropped: 0 };
  const dropped = runs.length - out.length;
  const ids = dup.length <= 5 ? dup.join(', ') : `${dup.slice(0, 5).join(', ')} and ${dup.length - 5} more`;
  return {
    runs: out,
    dropped,
    warning:
      `${dup.length} trial id${dup.length === 1 ? ' has' : 's have'} more than one run (${ids}): ` +
      'each counts once — its FINISHED run, the latest ' +
      `if several — and the other ${dropped} runs are left out`,
  };
}

/** the prefix scores had before the val/ and test/ split; such runs cannot be ranked without seeing the test split */
const LEGACY_EVAL_PREFIX = 'eval/';

/** A warning line when trial runs hold only `eval/<metric>` scores (logged before val/ and test/), else undefined. */
export function legacyEvalWarning(runs: readonly Run[]): string | undefined {
  const legacy = runs.filter((r) => {
    const keys = Object.keys(r.metrics);
    return keys.some((k) => k.startsWith(LEGACY_EVAL_PREFIX)) && !keys.some((k) => k.startsWith(VAL_PREFIX));
  });
  if (legacy.length === 0) return undefined;
  return (
    `${legacy.length} runs hold only \`${LEGACY_EVAL_PREFIX}<metric>\` scores ` +
    '(logged before the val/ and test/ split): ' +
    'they are not ranked, since their one score cannot both select and be published'
  );
}

/**
 * A run that says which checkpoint it selected (tag ganstudy.selected_step) is ranked on its val/ scores at that
 * step, the checkpoint its test/ scores belong to; MLflow's "latest value" may be of a later evaluation.
 */
async function valAtSelectedStep(tracker: Tracker, run: ReportRun): Promise<void> {
  const step = Number(run.tags[SELECTED_STEP_TAG]);
  if (run.tags[SELECTED_STEP_TAG] === undefined || !Number.isFinite(step)) return;
  for (const metric of Object.keys(run.val)) {
    const history = await tracker.getMetricHistory(run.runId, `${VAL_PREFIX}${metric}`);
    const at = history.filter((p) => p.step === step && Number.isFinite(p.value));
    if (at.length > 0) run.val[metric] = at.reduce((a, b) => (b.timestamp >= a.timestamp ? b : a)).value;
  }
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
  const trials: ReportRun[] = [];
  for (const r of all) {
    const rr = toReportRun(r);
    if (rr) trials.push(rr);
  }
  const deduped = dedupeByTrialId(trials);
  const legacy = legacyEvalWarning(all.filter((r) => !isReportRun(r) && runIdentity(r) !== undefined));
  const limit = pLimit(8);
  await Promise.all(
    deduped.runs.filter((r) => r.status === 'FINISHED').map((r) => limit(() => valAtSelectedStep(tracker, r))),
  );
  const reportRuns = all.filter(isReportRun).sort((a, b) => b.info.startTime - a.info.startTime);
  return {
    sweep,
    experimentId,
    runs: deduped.runs,
    ignored: all.length - trials.length,
    duplicates: deduped.dropped,
    warnings: [deduped.warning, legacy].filter((w): w is string => w !== undefined),
    reportRuns,
  };
}
