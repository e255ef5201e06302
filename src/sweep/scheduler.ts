/**
 * Runs a sweep on this machine: every trial in its own child process (`ganstudy trial <file> --index i`), at
 * most `parallel` at once, the machine's cores split between them. Each child loads TensorFlow with
 * TF_NUM_INTRAOP_THREADS = floor(cores / parallel) (libtensorflow reads it when its thread pools start; see
 * src/backend/index.ts), so two trials on two cores do not fight over one pool.
 *
 * Why child processes: native TensorFlow's thread pools are per process, a crashing trial (OOM, native abort)
 * takes only itself down, and the unit run here is exactly the unit a Kubernetes Indexed Job runs elsewhere.
 *
 * Stopping: the `signal` option (the CLI aborts it on SIGINT/SIGTERM and when its launcher dies) stops starting
 * trials and sends SIGINT to running children, which checkpoint, mark their run KILLED and exit 130; the sweep
 * waits for them and exits 130. A child also stops by itself when this process dies (it watches its parent pid,
 * GANSTUDY_PARENT_PID), so even `kill -9` of the scheduler leaves no trial running. Running the sweep again
 * resumes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import {
  openSweepExperiment,
  openTracker,
  redactSecrets,
  resolveTrackingUri,
  sqliteFileMissing,
  STORE_ENV,
  whereToLook,
  type OpenedTracker,
} from '../tracking/index.js';
import { TAGS, type Run, type Tracker } from '../tracking/types.js';
import type { RefineSpec, SweepSpec } from './define.js';
import { expandRefine, expandSweep, type Trial, type TrialPhase } from './expand.js';
import { loadSweepFile } from './load.js';
import { classifierNeeds } from './dataset-classifiers.js';
import { threadsPerTrial } from './threads.js';
import { TRIAL_EXIT } from './trial-exit.js';

export { threadsPerTrial, TRIAL_EXIT };

export interface RunSweepOptions {
  /** trials at once (default 1) */
  parallel?: number;
  /** list the trials and their status in the tracker; run nothing */
  dryRun?: boolean;
  /** checkpoint root (default ./runs) */
  runsDir?: string;
  /** default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db (a local MLflow server runs for the sweep's duration) */
  trackingUri?: string;
  retryDiverged?: boolean;
  /** cores to split between trials (default: os.availableParallelism()) */
  cores?: number;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** stop the sweep (the CLI wires SIGINT/SIGTERM and the launcher's death here) */
  signal?: AbortSignal;
  /** told the number of running child processes whenever it changes (the CLI bounds its stop with it) */
  onRunningChange?: (running: number) => void;
}

export type TrialRunStatus = 'finished' | 'skipped' | 'failed' | 'diverged' | 'interrupted';

export interface SweepResult {
  exitCode: number;
  trials: {
    phase: TrialPhase;
    index: number;
    trialId: string;
    runName: string;
    status: TrialRunStatus;
    seconds?: number;
  }[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI_MAIN = path.resolve(here, '../cli/main.ts');

/** node + tsx's loader, so a child runs TypeScript exactly as `tsx` does but without an extra wrapper process */
function childCommand(): { cmd: string; prefixArgs: string[] } {
  const tsxLoader = createRequire(import.meta.url).resolve('tsx');
  return { cmd: process.execPath, prefixArgs: ['--import', new URL(`file://${tsxLoader}`).href, CLI_MAIN] };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function describeStore(t: Tracker): string {
  const store = (t as Partial<OpenedTracker>).storeUri;
  return store === undefined || store === t.uri
    ? redactSecrets(t.uri)
    : `${redactSecrets(store)} (local MLflow server ${t.uri})`;
}

/** trialId → the status that decides what happens to it (FINISHED wins over any retry) */
function statusByTrial(runs: Run[]): Map<string, { status: string; diverged: boolean }> {
  const out = new Map<string, { status: string; diverged: boolean }>();
  for (const r of runs) {
    const id = r.tags[TAGS.trialId];
    if (!id) continue;
    const prev = out.get(id);
    if (prev?.status === 'FINISHED') continue;
    out.set(id, { status: r.info.status, diverged: r.tags[TAGS.divergedAtStep] !== undefined });
  }
  return out;
}

export async function runSweep(file: string, opts: RunSweepOptions = {}): Promise<SweepResult> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const say = (line: string): void => void out.write(`${line}\n`);
  const runsDir = path.resolve(opts.runsDir ?? process.env.GANSTUDY_RUNS_DIR ?? 'runs');
  const { spec, label, file: absFile } = await loadSweepFile(file);
  const parallel = Math.max(1, opts.parallel ?? spec.parallel ?? 1);
  const phase1 = expandSweep(spec, { label });
  const missing = opts.dryRun ? sqliteFileNotYetCreated(opts.trackingUri) : undefined;
  if (missing !== undefined) {
    // starting a server would create the database: a dry run leaves the working folder as it was
    listTrials(spec.name, phase1, new Map(), `${missing} (not created yet: every trial is NEW)`, say);
    if (spec.refine) say(REFINE_LATER);
    return { exitCode: 0, trials: [] };
  }
  // a dry run only peeks at the store: give up on an unreachable server quickly instead of retrying for minutes
  const tracker = await openTracker(opts.trackingUri, {
    ...(opts.dryRun ? { requestMaxWaitMs: 8_000, requestTimeoutMs: 5_000 } : {}),
    signal: opts.signal,
  });
  const result: SweepResult = { exitCode: 0, trials: [] };
  try {
    if (opts.dryRun) {
      await dryRun(
        spec.name,
        phase1,
        tracker,
        say,
        spec.refine ? () => expandRefineFrom(spec, phase1, tracker) : undefined,
      );
      return result;
    }
    // created here, once, so parallel children never race to create the experiment
    const experimentId = await openSweepExperiment(tracker, spec.name, `ganstudy sweep ${label}`);
    const cores = opts.cores ?? os.availableParallelism();
    const threads = threadsPerTrial(cores, parallel);
    say(
      `sweep ${spec.name} (${label}): ${phase1.length} trials, ${parallel} at once, ${threads} thread(s) each; ` +
        `tracking ${describeStore(tracker)} (experiment ${experimentId}); checkpoints under ${path.relative(process.cwd(), runsDir) || '.'}/${spec.name}/`,
    );
    const ctx: PhaseContext = {
      absFile,
      runsDir,
      threads,
      parallel,
      trackingUri: tracker.uri,
      storeUri: tracker.storeUri,
      retryDiverged: opts.retryDiverged ?? false,
      out,
      err,
      signal: opts.signal,
      onRunningChange: opts.onRunningChange,
    };
    const known = statusByTrial(await tracker.searchRuns([experimentId]));
    const pending = phase1.filter(
      (t) => known.get(t.trialId)?.status !== 'FINISHED' && !known.get(t.trialId)?.diverged,
    );
    if (parallel > 1 && classifierNeeds(pending).length > 0) {
      const stopped = await prepareClassifiers(spec.name, cores, ctx, say);
      if (stopped) {
        result.exitCode = TRIAL_EXIT.interrupted;
        return result;
      }
    }
    const r1 = await runPhase('grid', phase1, known, ctx);
    result.trials.push(...r1);
    if (spec.refine && !opts.signal?.aborted) {
      result.trials.push(...(await runRefinePhase(spec, spec.refine, phase1, tracker, experimentId, ctx, say)));
    }
    result.exitCode = summarize(spec.name, result.trials, opts.signal?.aborted ?? false, say);
    say(whereToLook(tracker, experimentId));
    return result;
  } finally {
    await tracker.close();
  }
}

type Say = (line: string) => void;

/**
 * Trains the shared classifiers once, with every core, instead of once per parallel trial. True when the sweep
 * was stopped meanwhile (said so; nothing else may start); a failed preparation only leaves the work to the trials.
 */
async function prepareClassifiers(name: string, cores: number, ctx: PhaseContext, say: Say): Promise<boolean> {
  const code = await runChild(['--prepare'], '[prepare] ', cores, ctx);
  if (ctx.signal?.aborted) {
    say(`sweep ${name}: interrupted before any trial started`);
    return true;
  }
  if (code !== 0) say(`[prepare] exit ${code}: the trials will train the classifiers they need themselves`);
  return false;
}

/** phase 2: the best phase-1 settings with new seeds, chosen from the scores now in the tracker */
async function runRefinePhase(
  spec: SweepSpec,
  refine: RefineSpec,
  phase1: Trial[],
  tracker: Tracker,
  experimentId: string,
  ctx: PhaseContext,
  say: Say,
): Promise<SweepResult['trials']> {
  const runs = await tracker.searchRuns([experimentId]);
  const phase2 = expandRefine(spec, phase1, runs);
  say(
    `refine: top ${refine.topK} setting(s) per model and dataset by val/${refine.metric}, ` +
      `${refine.seeds.length} new seed(s) each → ${phase2.length} trials`,
  );
  return runPhase('refine', phase2, statusByTrial(runs), ctx);
}

/** one summary line; the sweep's exit code: 130 when stopped, 1 when a trial failed or diverged, else 0 */
function summarize(name: string, trials: SweepResult['trials'], aborted: boolean, say: Say): number {
  const count = (s: TrialRunStatus) => trials.filter((t) => t.status === s).length;
  const failed = count('failed') + count('diverged');
  const interrupted = count('interrupted') > 0 || aborted;
  say(
    `sweep ${name}: ${count('finished')} finished, ${count('skipped')} already finished, ` +
      `${count('failed')} failed, ${count('diverged')} diverged${interrupted ? ', interrupted (run the same command again to resume)' : ''}`,
  );
  return interrupted ? TRIAL_EXIT.interrupted : failed > 0 ? 1 : 0;
}

async function expandRefineFrom(spec: SweepSpec, phase1: Trial[], tracker: Tracker): Promise<Trial[]> {
  const experimentId = await tracker.getExperimentByName(spec.name);
  if (experimentId === undefined) return [];
  return expandRefine(spec, phase1, await tracker.searchRuns([experimentId]));
}

async function dryRun(
  name: string,
  trials: Trial[],
  tracker: Tracker,
  say: (line: string) => void,
  refine?: () => Promise<Trial[]>,
): Promise<void> {
  let statuses: TrialStatuses | null = null;
  let note = '';
  try {
    const experimentId = await withTimeout(tracker.getExperimentByName(name), 10_000, tracker.uri);
    statuses =
      experimentId === undefined
        ? new Map()
        : statusByTrial(await withTimeout(tracker.searchRuns([experimentId]), 10_000, tracker.uri));
  } catch (e) {
    note = ` (tracking store not reachable: ${e instanceof Error ? e.message : String(e)})`;
  }
  listTrials(name, trials, statuses, `${describeStore(tracker)}${note}`, say);
  if (refine) {
    let phase2: Trial[] = [];
    if (statuses !== null) {
      try {
        phase2 = await withTimeout(refine(), 10_000, tracker.uri);
      } catch {
        phase2 = [];
      }
    }
    if (phase2.length === 0) say(REFINE_LATER);
    else {
      say(`refine (${phase2.length} trials, ganstudy trial <file> --phase refine --index i):`);
      for (const t of phase2) say(trialLine(t, statuses));
    }
  }
}

type TrialStatuses = Map<string, { status: string; diverged: boolean }>;

const REFINE_LATER =
  'refine: computed from the phase-1 scores once they are in the tracker (ganstudy trial --phase refine)';

function trialLine(t: Trial, statuses: TrialStatuses | null): string {
  const s = statuses?.get(t.trialId);
  const status = statuses === null ? '?' : s ? (s.diverged ? 'DIVERGED' : s.status) : 'NEW';
  return `${String(t.index).padStart(4)}  ${t.trialId}  ${status.padEnd(9)}  ${t.runName}`;
}

function listTrials(
  name: string,
  trials: readonly Trial[],
  statuses: TrialStatuses | null,
  store: string,
  say: (line: string) => void,
): void {
  say(`sweep ${name}: ${trials.length} trials; tracking ${store}`);
  say(`${'index'.padStart(4)}  ${'trial_id'.padEnd(16)}  ${'status'.padEnd(9)}  run name`);
  for (const t of trials) say(trialLine(t, statuses));
}

/** the redacted URI of a sqlite store whose file does not exist yet, else undefined */
function sqliteFileNotYetCreated(uri: string | undefined): string | undefined {
  const target = resolveTrackingUri(uri);
  return sqliteFileMissing(target) ? redactSecrets(target.uri) : undefined;
}

interface PhaseContext {
  absFile: string;
  runsDir: string;
  threads: number;
  parallel: number;
  /** the local server's http URI when the store is a database: the children share the sweep's server */
  trackingUri: string;
  storeUri: string;
  retryDiverged: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  signal?: AbortSignal;
  onRunningChange?: (running: number) => void;
}

/** the `ganstudy trial` arguments of one trial of a phase */
function trialArgs(prefixArgs: string[], t: Trial, phase: TrialPhase, ctx: PhaseContext): string[] {
  const args = [
    ...prefixArgs,
    'trial',
    ctx.absFile,
    '--index',
    String(t.index),
    '--phase',
    phase,
    '--runs-dir',
    ctx.runsDir,
  ];
  if (ctx.retryDiverged) args.push('--retry-diverged');
  return args;
}

/** starts one trial's child process: the sweep's tracker and store, its share of the cores, this process as parent */
function spawnTrial(cmd: string, args: string[], t: Trial, ctx: PhaseContext): ChildProcess {
  return spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MLFLOW_TRACKING_URI: ctx.trackingUri,
      [STORE_ENV]: ctx.storeUri,
      TF_NUM_INTRAOP_THREADS: String(ctx.threads),
      TF_NUM_INTEROP_THREADS: '1',
      GANSTUDY_PARENT_PID: String(process.pid),
      GANSTUDY_EXPECT_TRIAL_ID: t.trialId,
    },
  });
}

/** the child's exit code; a child killed by SIGINT/SIGTERM counts as interrupted, one that never started as failed */
function trialExitCode(child: ChildProcess, tag: string, err: NodeJS.WritableStream): Promise<number> {
  return new Promise<number>((resolve) => {
    child.on('error', (e) => {
      err.write(`${tag} could not start: ${e.message}\n`);
      resolve(TRIAL_EXIT.failed);
    });
    child.on('exit', (c, sig) =>
      resolve(c ?? (sig === 'SIGINT' || sig === 'SIGTERM' ? TRIAL_EXIT.interrupted : TRIAL_EXIT.failed)),
    );
  });
}

function statusOfExit(code: number): TrialRunStatus {
  return code === TRIAL_EXIT.ok
    ? 'finished'
    : code === TRIAL_EXIT.diverged
      ? 'diverged'
      : code === TRIAL_EXIT.interrupted
        ? 'interrupted'
        : 'failed';
}

async function runPhase(
  phase: TrialPhase,
  trials: Trial[],
  known: Map<string, { status: string; diverged: boolean }>,
  ctx: PhaseContext,
): Promise<SweepResult['trials']> {
  const results: SweepResult['trials'] = [];
  const record = (t: Trial, status: TrialRunStatus, seconds?: number) =>
    results.push({ phase, index: t.index, trialId: t.trialId, runName: t.runName, status, seconds });
  const todo: Trial[] = [];
  for (const t of trials) {
    const k = known.get(t.trialId);
    if (k?.status === 'FINISHED') record(t, 'skipped');
    else if (k?.diverged && !ctx.retryDiverged) record(t, 'diverged');
    else todo.push(t);
  }
  const total = trials.length;
  let running = 0;
  const progress = (what: string): void => {
    const done = results.length;
    const failed = results.filter((r) => r.status === 'failed' || r.status === 'diverged').length;
    ctx.out.write(`[${done}/${total} done, ${failed} failed${running > 0 ? `, ${running} running` : ''}] ${what}\n`);
  };
  if (results.length > 0) progress(`${results.length} trial(s) already in the tracker (finished or diverged) skipped`);
  const children = new Set<ChildProcess>();
  const limit = pLimit(ctx.parallel);
  // queued trials see the aborted signal and return at once; running ones get the signal and checkpoint
  const onAbort = (): void => {
    for (const c of children) c.kill('SIGINT');
  };
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  const { cmd, prefixArgs } = childCommand();
  const runTrial = async (t: Trial): Promise<void> => {
    if (ctx.signal?.aborted) return;
    running++;
    ctx.onRunningChange?.(running);
    const tag = `[${phase === 'refine' ? 'r' : '#'}${t.index} ${t.model}/${t.dataset}]`;
    progress(`${tag} start ${t.runName} (${t.trialId})`);
    const started = performance.now();
    const child = spawnTrial(cmd, trialArgs(prefixArgs, t, phase, ctx), t, ctx);
    children.add(child);
    prefixLines(child.stdout, `${tag} `, ctx.out);
    prefixLines(child.stderr, `${tag} `, ctx.err);
    const code = await trialExitCode(child, tag, ctx.err);
    children.delete(child);
    running--;
    ctx.onRunningChange?.(running);
    const seconds = (performance.now() - started) / 1000;
    const status = statusOfExit(code);
    record(t, status, seconds);
    progress(`${tag} ${status} after ${seconds.toFixed(0)} s (exit ${code})`);
  };
  try {
    await Promise.all(todo.map((t) => limit(() => runTrial(t))));
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
  }
  return results;
}

/** Runs `ganstudy trial <file> <args>` with `threads` intra-op threads, its output prefixed; resolves with its exit code. */
async function runChild(args: string[], prefix: string, threads: number, ctx: PhaseContext): Promise<number> {
  const { cmd, prefixArgs } = childCommand();
  const child = spawn(cmd, [...prefixArgs, 'trial', ctx.absFile, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MLFLOW_TRACKING_URI: ctx.trackingUri,
      [STORE_ENV]: ctx.storeUri,
      TF_NUM_INTRAOP_THREADS: String(threads),
      TF_NUM_INTEROP_THREADS: '1',
      GANSTUDY_PARENT_PID: String(process.pid),
    },
  });
  const onAbort = (): void => void child.kill('SIGINT');
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  ctx.onRunningChange?.(1);
  prefixLines(child.stdout, prefix, ctx.out);
  prefixLines(child.stderr, prefix, ctx.err);
  try {
    return await new Promise<number>((resolve) => {
      child.on('error', () => resolve(TRIAL_EXIT.failed));
      child.on('exit', (c) => resolve(c ?? TRIAL_EXIT.interrupted));
    });
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    ctx.onRunningChange?.(0);
  }
}

/** Copies a child's output line by line with a prefix; progress lines ending in \r become lines too. */
function prefixLines(stream: NodeJS.ReadableStream | null, prefix: string, to: NodeJS.WritableStream): void {
  if (!stream) return;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    const parts = buf.split(/\r\n|\n|\r/);
    buf = parts.pop() ?? '';
    for (const line of parts) if (line.trim() !== '') to.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => {
    if (buf.trim() !== '') to.write(`${prefix}${buf}\n`);
  });
}
