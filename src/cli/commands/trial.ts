/**
 * `ganstudy trial <file> --index i`: run exactly trial i of a sweep: the unit the sweep scheduler runs in a
 * child process and a Kubernetes Indexed Job runs per pod (index from JOB_COMPLETION_INDEX when --index is
 * absent). Idempotent: a finished trial is skipped, an interrupted one resumes from its checkpoint.
 *
 * Exit codes: 0 finished (or already finished), 1 failed, 2 bad usage or sweep file, 3 diverged, 130 stopped.
 */
import path from 'node:path';
import { oneOf, parseCommandLine, TRACKING_FLAG, wholeNumber } from '../args.js';
import { UserError, verboseRequested } from '../errors.js';
import { checkTrackingStore, checkWritableDir, trackerStatusLine, TRACKING_ENV_HELP } from '../preflight.js';
import { createStopControl, type StopControl } from '../stop.js';
import type { SweepSpec } from '../../sweep/define.js';
import type { Trial } from '../../sweep/expand.js';
import { TRIAL_EXIT } from '../../sweep/trial-exit.js';
import type { OpenedTracker } from '../../tracking/index.js';
import type { TrialOutcome } from '../../sweep/run-trial.js';

const USAGE = `usage: ganstudy trial <sweeps/file.ts> [--index i] [options]

Runs exactly one trial of the sweep and logs it to MLflow (MLFLOW_TRACKING_URI, default sqlite:///mlflow.db).

options:
  --index i           the trial (as \`ganstudy sweep <file> --dry-run\` numbers them); default: JOB_COMPLETION_INDEX
  --phase P           grid (default) or refine (the sweep's second phase, computed from the tracker's scores)
  --runs-dir DIR      checkpoint root (default ./runs, or GANSTUDY_RUNS_DIR)
  --tracking-uri URI  tracking store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)
  --retry-diverged    train again a trial that diverged before
  --prepare           instead of a trial: train (or find cached) the dataset classifiers the sweep's metrics need
                      (\`ganstudy sweep\` does this once before starting trials in parallel)
  -v, --verbose       the trial's JSON summary and tracker timings; stack traces on errors
  -h, --help          this text

${TRACKING_ENV_HELP}`;

const FLAGS = {
  index: { type: 'string', short: 'i' },
  phase: { type: 'string' },
  'runs-dir': { type: 'string' },
  'retry-diverged': { type: 'boolean' },
  prepare: { type: 'boolean' },
  ...TRACKING_FLAG,
} as const;

/** log lines that are details (timings), shown with --verbose only */
const DETAIL_LINE = /\] tracker time by call: /;

function trialIndex(raw: string | undefined): number {
  if (raw === undefined) {
    throw new UserError('--index: expected a whole number >= 0, got nothing (and JOB_COMPLETION_INDEX is not set)', 2);
  }
  return wholeNumber('index', raw, 0) as number;
}

function outOfRange(label: string, phase: string, index: number, count: number): UserError {
  const range = count > 0 ? ` (0..${count - 1})` : '';
  return new UserError(
    `${label}: --index ${index}: out of range; the ${phase} phase has ${count} trial(s)${range}; ` +
      `list them with \`ganstudy sweep ${label} --dry-run\``,
    2,
  );
}

function exitCode(outcome: TrialOutcome): number {
  switch (outcome.status) {
    case 'finished':
      return TRIAL_EXIT.ok;
    case 'skipped':
      return outcome.previous === 'DIVERGED' ? TRIAL_EXIT.diverged : TRIAL_EXIT.ok;
    case 'diverged':
      return TRIAL_EXIT.diverged;
    case 'interrupted':
      return TRIAL_EXIT.interrupted;
    default:
      return TRIAL_EXIT.failed;
  }
}

async function prepare(file: string): Promise<number> {
  const { loadSweepFile } = await import('../../sweep/load.js');
  const { expandSweep } = await import('../../sweep/expand.js');
  const { spec, label } = await loadSweepFile(file);
  const { prepareClassifiers } = await import('../../sweep/dataset-classifiers.js');
  await prepareClassifiers(expandSweep(spec, { label }), { log: (line) => process.stderr.write(`${line}\n`) });
  return 0;
}

type Flags = ReturnType<typeof parseCommandLine<typeof FLAGS>>['flags'];

interface Selected {
  index: number;
  phase: 'grid' | 'refine';
  spec: SweepSpec;
  label: string;
  phase1: Trial[];
  runsDir: string;
}

/** The sweep file loaded, the index in range (grid), the store and the runs folder usable: before any write. */
async function select(file: string, index: number, phase: 'grid' | 'refine', flags: Flags): Promise<Selected> {
  const { loadSweepFile } = await import('../../sweep/load.js');
  const { expandSweep } = await import('../../sweep/expand.js');
  const { spec, label } = await loadSweepFile(file);
  const phase1 = expandSweep(spec, { label });
  if (phase === 'grid' && phase1[index] === undefined) throw outOfRange(label, phase, index, phase1.length);
  if (phase === 'refine' && !spec.refine) {
    throw new UserError(`${label}: --phase refine: this sweep has no \`refine\` section`, 2);
  }
  const runsDir = flags['runs-dir'] ?? process.env.GANSTUDY_RUNS_DIR ?? 'runs';
  await checkTrackingStore(flags['tracking-uri']);
  await checkWritableDir(path.resolve(runsDir), '--runs-dir');
  return { index, phase, spec, label, phase1, runsDir };
}

/** The trial to run; a refine index is known only from the tracker's scores (read, never created here). */
async function trialOf(s: Selected, tracker: OpenedTracker): Promise<Trial> {
  if (s.phase === 'grid') return s.phase1[s.index] as Trial;
  const { expandRefine } = await import('../../sweep/expand.js');
  const existing = await tracker.getExperimentByName(s.spec.name);
  const trials = existing === undefined ? [] : expandRefine(s.spec, s.phase1, await tracker.searchRuns([existing]));
  const trial = trials[s.index];
  if (!trial) throw outOfRange(s.label, s.phase, s.index, trials.length);
  return trial;
}

function printSummary(index: number, trial: Trial, outcome: TrialOutcome): void {
  const { runId, status } = outcome;
  const summary: Record<string, unknown> = { index, trialId: trial.trialId, runId, status };
  if (outcome.previous) summary.previous = outcome.previous;
  if (outcome.scores) summary.scores = outcome.scores;
  if (outcome.timing) summary.timing = outcome.timing;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** true while the trainer runs: a stop then waits for the checkpoint, which must not be cut short */
interface Busy {
  training: boolean;
}

async function runSelected(s: Selected, flags: Flags, stop: StopControl, busy: Busy): Promise<number> {
  const verbose = verboseRequested([]) || flags.verbose === true;
  const { index, spec, label } = s;
  // heavy modules (TensorFlow, the tracker) load only once the arguments and the sweep file are known to be good
  const { openSweepExperiment, openTracker } = await import('../../tracking/index.js');
  const { runTrial } = await import('../../sweep/run-trial.js');
  const { createProgressLine } = await import('../progress.js');
  const showProgress = createProgressLine(process.stderr);
  const tracker = await openTracker(flags['tracking-uri'], {
    onStatus: trackerStatusLine(`[trial ${index}] `),
    signal: stop.signal,
  });
  try {
    const trial = await trialOf(s, tracker);
    const expected = process.env.GANSTUDY_EXPECT_TRIAL_ID;
    if (expected && expected !== trial.trialId) {
      process.stderr.write(
        `${label}: trial ${index} is now ${trial.trialId}, the sweep started it as ${expected}: ` +
          'was the sweep file edited mid-sweep?\n',
      );
      return TRIAL_EXIT.failed;
    }
    const experimentId = await openSweepExperiment(tracker, spec.name, `ganstudy sweep ${label}`);
    const threads = Number(process.env.TF_NUM_INTRAOP_THREADS ?? '') || undefined;
    process.stderr.write(
      `[trial ${index}] ${trial.runName} (${trial.trialId}) → ${tracker.shownUri}, experiment ${spec.name}\n`,
    );
    const outcome = await runTrial(trial, {
      tracker,
      experimentId,
      runsDir: s.runsDir,
      signal: stop.signal,
      threads,
      retryDiverged: flags['retry-diverged'] ?? false,
      onEvent: (event) => {
        showProgress(event);
        if (event.type === 'start') busy.training = true;
        // the checkpoint written after the stop request: what is left is recording the run as KILLED
        if (event.type === 'checkpoint' && stop.signal.aborted) {
          busy.training = false;
          stop.settled();
        }
      },
      log: (line) => {
        if (verbose || !DETAIL_LINE.test(line)) process.stderr.write(`${line}\n`);
      },
      onPhase: (activity) => {
        // during evaluation a JS handler could not run until it ends: let the default action stop the process
        stop.handleSignals(activity === 'train' && !stop.signal.aborted);
      },
    });
    if (verbose) printSummary(index, trial, outcome);
    return exitCode(outcome);
  } finally {
    await tracker.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommandLine('trial', argv, FLAGS, { min: 1, max: 1, what: 'sweep file' });
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.prepare) return prepare(positionals[0]);
  const index = trialIndex(flags.index ?? process.env.JOB_COMPLETION_INDEX);
  const phase = oneOf('phase', flags.phase, ['grid', 'refine'] as const) ?? 'grid';
  // stop cleanly on the first signal or when the sweep that started us dies (the trainer checkpoints); bounded in time
  const parentPid = Number(process.env.GANSTUDY_PARENT_PID ?? '');
  const busy: Busy = { training: false };
  const stop = createStopControl({
    label: `[trial ${index}]`,
    action: 'checkpointing and stopping',
    parentPid: parentPid > 0 ? parentPid : undefined,
    busy: () => busy.training,
  });
  try {
    const selected = await select(positionals[0], index, phase, flags);
    return await runSelected(selected, flags, stop, busy);
  } catch (e) {
    // stopping while the tracker could not be reached: the message, not a stack trace
    if (!stop.signal.aborted) throw e;
    process.stderr.write(`[trial ${index}] stopped: ${(e as Error).message}\n`);
    return TRIAL_EXIT.interrupted;
  } finally {
    stop.dispose();
  }
}
