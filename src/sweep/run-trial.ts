/**
 * One trial, start to finish, idempotently: find or create its MLflow run (by tag ganstudy.trial_id), train
 * (resuming from runs/<sweep>/<trialId>/ when a checkpoint is there), evaluate, log everything, end the run.
 *
 *   FINISHED run for this trialId      → skip
 *   FAILED with ganstudy.diverged_at_step → skip (divergence is a deterministic result; `retryDiverged` re-runs it)
 *   any other run (RUNNING after a crash, KILLED after Ctrl-C, FAILED with an error) → reuse it and resume
 *   none                                → create it
 *
 * The trainer emits events and never talks to the tracker; this module is where the two meet.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { evaluateGenerator } from '../../metrics/index.js';
import { SCORE_DIRECTIONS, type MetricName } from '../../metrics/protocol.js';
import { tf } from '../backend/index.js';
import { loadDataset } from '../data/index.js';
import { saveImageGrid } from '../data/images.js';
import { createModel } from '../models/index.js';
import type { GanModel } from '../models/types.js';
import { latestCheckpoint, sampleSeed, train } from '../train/index.js';
import type { TrainEvent, TrainResult } from '../train/types.js';
import { gitCommit } from '../tracking/git.js';
import { describeRun, runParams } from '../tracking/run-record.js';
import { TAGS, type MetricPoint, type Run, type RunInfo, type Tracker } from '../tracking/types.js';
import type { Trial } from './expand.js';
import { defaultCacheDir } from './prepare.js';

export const RESUMED_FROM_TAG = 'ganstudy.resumed_from_step';
export const PHASE_TAG = 'ganstudy.phase';
/** samples in the logged grid (8 × 8) */
const GRID_SAMPLES = 64;
/** MLflow keeps tag values up to 8,000 characters (5,000 on older servers) */
const MAX_TAG_CHARS = 4_000;

export type TrialStatus = 'skipped' | 'finished' | 'diverged' | 'failed' | 'interrupted';

export interface TrialOutcome {
  status: TrialStatus;
  runId: string;
  /** for skipped trials: the status found in the tracker */
  previous?: 'FINISHED' | 'DIVERGED';
  /** last trained step */
  step?: number;
  resumedFrom?: number | null;
  error?: string;
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
  onPhase?: (phase: 'train' | 'eval') => void;
}

/** The run holding this trial, if any: a finished one wins, else the most recently started. */
export async function findTrialRun(tracker: Tracker, experimentId: string, trialIdValue: string): Promise<Run | undefined> {
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

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

function errorText(e: unknown): string {
  const s = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return s.length > MAX_TAG_CHARS ? `${s.slice(0, MAX_TAG_CHARS - 3)}...` : s;
}

function finiteLosses(prefix: string, losses: Record<string, number>, step: number, timestamp: number): MetricPoint[] {
  return Object.entries(losses)
    .filter(([, v]) => Number.isFinite(v))
    .map(([k, v]) => ({ key: `${prefix}${k}`, value: v, step, timestamp }));
}

export async function runTrial(trial: Trial, opts: RunTrialOptions): Promise<TrialOutcome> {
  const { tracker, experimentId } = opts;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let trackingMs = 0;
  /** ms per kind of tracker call (search, createRun, logArtifact, …), for the log line that ends the trial */
  const byCall = new Map<string, number>();
  /** awaited tracker call, timed; the label is the Tracker method it calls */
  const track = async <T>(call: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    try {
      return await call();
    } finally {
      const ms = performance.now() - s;
      trackingMs += ms;
      const label = /tracker\.(\w+)|(findTrialRun)/.exec(call.toString());
      const key = label?.[1] ?? label?.[2] ?? 'other';
      byCall.set(key, (byCall.get(key) ?? 0) + ms);
    }
  };
  // tracker calls made from synchronous training events: the tracker buffers them; we wait for them at the end
  const pending: Promise<unknown>[] = [];
  const background = (call: () => Promise<unknown>): void => {
    const s = performance.now();
    pending.push(call().catch((e: unknown) => log(`[tracking] ${e instanceof Error ? e.message : String(e)}`)));
    trackingMs += performance.now() - s;
  };

  // --- find or create the run ---------------------------------------------------------------------------------------
  const existing = await track(() => findTrialRun(tracker, experimentId, trial.trialId));
  if (existing?.info.status === 'FINISHED') {
    return { status: 'skipped', previous: 'FINISHED', runId: existing.info.runId };
  }
  if (existing && existing.tags[TAGS.divergedAtStep] !== undefined && !opts.retryDiverged) {
    return {
      status: 'skipped',
      previous: 'DIVERGED',
      runId: existing.info.runId,
      step: Number(existing.tags[TAGS.divergedAtStep]),
    };
  }
  const dir = trialDir(opts.runsDir, trial);
  await mkdir(dir, { recursive: true });
  const configPath = path.join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(trial, null, 2) + '\n');

  let info: RunInfo;
  const params = runParams(trial);
  if (existing) {
    info = existing.info;
    log(`[trial ${trial.index}] reusing run ${info.runId} (was ${existing.info.status})`);
    await track(() => tracker.setRunStatus(info.runId, 'RUNNING'));
    for (const key of [TAGS.error, TAGS.divergedAtStep]) {
      if (existing.tags[key] !== undefined) await track(() => tracker.deleteTag(info.runId, key));
    }
    // params cannot change once logged: add only what a crash before logging left out
    const missing = Object.fromEntries(Object.entries(params).filter(([k]) => existing.params[k] === undefined));
    if (Object.keys(missing).length > 0) await track(() => tracker.logParams(info.runId, missing));
  } else {
    const commit = gitCommit();
    const tags: Record<string, string> = {
      [TAGS.sweep]: trial.sweep,
      [TAGS.trialId]: trial.trialId,
      [TAGS.model]: trial.model,
      [TAGS.dataset]: trial.dataset,
      [PHASE_TAG]: trial.phase,
      ...(commit ? { [TAGS.gitCommit]: commit } : {}),
    };
    info = await track(() => tracker.createRun(experimentId, { runName: trial.runName, tags }));
    await track(() => tracker.logParams(info.runId, params));
  }
  const runId = info.runId;
  await track(() => describeRun(tracker, runId, trial));
  if (opts.threads !== undefined) await track(() => tracker.setTags(runId, { 'ganstudy.threads': String(opts.threads) }));
  await track(() => tracker.logArtifact(runId, configPath, ''));

  let model: GanModel | undefined;
  let trainMs = 0;
  let evalMs = 0;
  const timing = (): TrialTiming => ({
    trialSec: (performance.now() - t0) / 1000,
    trainSec: trainMs / 1000,
    evalSec: evalMs / 1000,
    trackingSec: trackingMs / 1000,
    cpuSec: (() => {
      const c = process.cpuUsage(cpu0);
      return (c.user + c.system) / 1e6;
    })(),
  });
  const settle = async (): Promise<void> => {
    await Promise.allSettled(pending);
    pending.length = 0;
  };
  const finishWith = async (status: 'FINISHED' | 'FAILED' | 'KILLED', extraTags: Record<string, string> = {}): Promise<void> => {
    await settle();
    const t = timing();
    const now = Date.now();
    const step = trial.steps;
    const perf: MetricPoint[] = [
      { key: 'perf/trial_seconds', value: t.trialSec, step, timestamp: now },
      { key: 'perf/train_seconds', value: t.trainSec, step, timestamp: now },
      { key: 'perf/eval_seconds', value: t.evalSec, step, timestamp: now },
      { key: 'perf/tracking_seconds', value: t.trackingSec, step, timestamp: now },
      { key: 'perf/cpu_seconds', value: t.cpuSec, step, timestamp: now },
      { key: 'perf/tracking_share', value: t.trialSec > 0 ? t.trackingSec / t.trialSec : 0, step, timestamp: now },
    ];
    if (status === 'FINISHED') await track(() => tracker.logMetrics(runId, perf));
    if (Object.keys(extraTags).length > 0) await track(() => tracker.setTags(runId, extraTags));
    await track(() => tracker.setRunStatus(runId, status, Date.now()));
    await track(() => tracker.flush());
  };

  try {
    const resumeFrom = await latestCheckpoint(dir);
    if (resumeFrom) {
      log(`[trial ${trial.index}] resuming from checkpoint step ${resumeFrom.step} (${resumeFrom.dir})`);
      await track(() => tracker.setTags(runId, { [RESUMED_FROM_TAG]: String(resumeFrom.step) }));
    }
    const dataset = await loadDataset(trial.datasetSpec);
    model = createModel({ model: trial.model, arch: trial.arch, hp: trial.hp, seed: trial.seed });
    const activeModel = model;
    let divergedAt: number | null = null;
    const onEvent = (event: TrainEvent): void => {
      opts.onEvent?.(event);
      const now = Date.now();
      if (event.type === 'progress') {
        const points = finiteLosses('train/', event.losses, event.step, now);
        points.push({ key: 'perf/steps_per_sec', value: event.stepsPerSec, step: event.step, timestamp: now });
        background(() => tracker.logMetrics(runId, points.filter((p) => Number.isFinite(p.value))));
      } else if (event.type === 'diverged') {
        divergedAt = event.step;
      }
    };

    // training in segments when the sweep asks for intermediate scores (evalEvery), else one segment
    const targets: number[] = [];
    if (trial.evalEvery !== null) {
      for (let s = trial.evalEvery; s < trial.steps; s += trial.evalEvery) if (s >= (resumeFrom?.step ?? 0)) targets.push(s);
    }
    targets.push(trial.steps);
    const evaluations: { step: number; scores: Record<string, number> }[] = [];
    let result: TrainResult | undefined;
    for (const target of targets) {
      const ts = performance.now();
      result = await train({
        model: activeModel,
        data: dataset.train,
        steps: target,
        seed: trial.seed,
        runDir: dir,
        checkpointEvery: trial.checkpointEvery,
        sampleEvery: trial.sampleEvery,
        logEvery: trial.logEvery,
        onEvent,
        signal: opts.signal,
      });
      trainMs += performance.now() - ts;
      if (result.status !== 'finished') break;
      if (opts.signal?.aborted) break;
      // --- evaluate at this step ---
      const es = performance.now();
      opts.onPhase?.('eval');
      const evalRun = evaluateGenerator({
        sample: (n: number, seed: number) => activeModel.sample(n, seed),
        dataset,
        protocol: trial.eval,
        metrics: trial.metrics,
        seed: trial.seed,
        cacheDir: opts.cacheDir ?? defaultCacheDir(),
        // the independent critic uses the dataset's discriminator at this trial's width: at width 1 the quick
        // protocol's critic alone outlasts the quick trial (experiments/index.ts, QUICK_EVAL); paper budgets are width 1
        criticArch: trial.arch,
        onProgress: (msg: string) => log(`[trial ${trial.index}] eval: ${msg}`),
      });
      const report = await raceAbort(evalRun, opts.signal).finally(() => opts.onPhase?.('train'));
      evalMs += performance.now() - es;
      if (report === null) break;
      const now = Date.now();
      const points: MetricPoint[] = finiteLosses('eval/', report.scores, target, now);
      if (target === trial.steps) {
        points.push(...report.criticCurve.map((c) => ({ key: 'critic/loss', value: c.loss, step: c.step, timestamp: now })));
        points.push(...Object.entries(report.timings).map(([m, sec]) => ({ key: `perf/eval_${m}_seconds`, value: sec, step: target, timestamp: now })));
      }
      await track(() => tracker.logMetrics(runId, points.filter((p) => Number.isFinite(p.value))));
      if (report.classifier) await track(() => tracker.setTags(runId, { [TAGS.classifier]: report.classifier as string }));
      evaluations.push({ step: target, scores: report.scores });
    }

    if (result?.status === 'diverged') {
      const step = divergedAt ?? result.step;
      log(`[trial ${trial.index}] diverged at step ${step}`);
      await finishWith('FAILED', { [TAGS.divergedAtStep]: String(step), [TAGS.error]: `diverged (NaN/Inf loss) at step ${step}` });
      return { status: 'diverged', runId, step, resumedFrom: result.resumedFrom, timing: timing() };
    }
    if (result?.status === 'aborted' || opts.signal?.aborted || evaluations.at(-1)?.step !== trial.steps) {
      log(`[trial ${trial.index}] interrupted at step ${result?.step ?? '?'}; the next run resumes from the last checkpoint`);
      await finishWith('KILLED');
      return { status: 'interrupted', runId, step: result?.step, resumedFrom: result?.resumedFrom ?? null, timing: timing() };
    }

    // --- best_* where a score was logged more than once (MLflow's UI shows only the last value) ---
    if (evaluations.length > 1) {
      const best: MetricPoint[] = [];
      for (const key of Object.keys(evaluations[evaluations.length - 1].scores)) {
        const direction = SCORE_DIRECTIONS[key as MetricName] ?? SCORE_DIRECTIONS[key];
        if (!direction) continue;
        const values = evaluations.map((e) => e.scores[key]).filter((v) => v !== undefined && Number.isFinite(v));
        if (values.length === 0) continue;
        const value = direction === 'higher' ? Math.max(...values) : Math.min(...values);
        best.push({ key: `best_${key}`, value, step: trial.steps, timestamp: Date.now() });
      }
      await track(() => tracker.logMetrics(runId, best));
    }

    // --- artifacts: the final sample grid and checkpoint ---
    // the trainer's grid seed, so samples.png continues the series of samples/step-<n>.png
    const grid = tf.tidy(() => activeModel.sample(GRID_SAMPLES, sampleSeed(trial.seed)));
    const gridPath = path.join(dir, 'samples.png');
    try {
      await saveImageGrid(grid, gridPath, { cols: 8 });
    } finally {
      grid.dispose();
    }
    await track(() => tracker.logArtifact(runId, gridPath, ''));
    if (result?.checkpointDir) {
      const ckpt = result.checkpointDir;
      for (const file of await listFiles(ckpt)) {
        const rel = path.relative(ckpt, path.dirname(file));
        await track(() => tracker.logArtifact(runId, file, path.posix.join('checkpoint', ...rel.split(path.sep).filter(Boolean))));
      }
    }
    await finishWith('FINISHED');
    const t = timing();
    log(
      `[trial ${trial.index}] tracker time by call: ` +
        [...byCall.entries()].sort((a, b) => b[1] - a[1]).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(2)} s`).join(', '),
    );
    log(
      `[trial ${trial.index}] finished in ${t.trialSec.toFixed(1)} s (train ${t.trainSec.toFixed(1)} s, eval ${t.evalSec.toFixed(1)} s, ` +
        `tracking ${t.trackingSec.toFixed(2)} s = ${((100 * t.trackingSec) / Math.max(t.trialSec, 1e-9)).toFixed(2)}%; CPU ${t.cpuSec.toFixed(1)} s)`,
    );
    return {
      status: 'finished',
      runId,
      step: result?.step,
      resumedFrom: result?.resumedFrom ?? null,
      scores: evaluations.at(-1)?.scores,
      timing: t,
    };
  } catch (e) {
    const message = errorText(e);
    log(`[trial ${trial.index}] failed: ${message.split('\n')[0]}`);
    try {
      await finishWith('FAILED', { [TAGS.error]: message });
    } catch (trackingError) {
      log(`[trial ${trial.index}] could not record the failure in the tracker: ${errorText(trackingError).split('\n')[0]}`);
    }
    return { status: 'failed', runId, error: message, timing: timing() };
  } finally {
    model?.dispose();
  }
}

/** Resolves with the promise's value, or null as soon as the signal aborts (evaluation takes no signal). */
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
