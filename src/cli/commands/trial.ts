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
import { createStopControl } from '../stop.js';
import type { Trial } from '../../sweep/expand.js';
import { TRIAL_EXIT } from '../../sweep/scheduler.js';
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

export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommandLine('trial', argv, FLAGS, { min: 1, max: 1, what: 'sweep file' });
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.prepare) return prepare(positionals[0]);
  const index = trialIndex(flags.index ?? process.env.JOB_COMPLETION_INDEX);
  const phase = oneOf('phase', flags.phase, ['grid', 'refine'] as const) ?? 'grid';
  const verbose = verboseRequested(argv);
  const { loadSweepFile } = await import('../../sweep/load.js');
  const { expandRefine, expandSweep } = await import('../../sweep/expand.js');
  const { spec, label } = await loadSweepFile(positionals[0]);
  const phase1 = expandSweep(spec, { label });
  if (phase === 'grid' && phase1[index] === undefined) throw outOfRange(label, phase, index, phase1.length);
  if (phase === 'refine' && !spec.refine) {
    throw new UserError(`${label}: --phase refine: this sweep has no \`refine\` section`, 2);
  }
  const runsDir = flags['runs-dir'] ?? process.env.GANSTUDY_RUNS_DIR ?? 'runs';
  await checkTrackingStore(flags['tracking-uri']);
  await checkWritableDir(path.resolve(runsDir), '--runs-dir');

  // stop cleanly on the first signal or when the sweep that started us dies (the trainer checkpoints); bounded in time
  let training = false;
  const parentPid = Number(process.env.GANSTUDY_PARENT_PID ?? '');
  const stop = createStopControl({
    label: `[trial ${index}]`,
    action: 'checkpointing and stopping',
    parentPid: parentPid > 0 ? parentPid : undefined,
    busy: () => training,
  });

  try {
    // heavy modules (TensorFlow, the tracker) load only once the arguments and the sweep file are known to be good
    const { openSweepExperiment, openTracker } = await import('../../tracking/index.js');
    const { runTrial } = await import('../../sweep/run-trial.js');
    const { createProgressLine } = await import('../progress.js');
    const showProgress = createProgressLine(process.stderr);
    const tracker = await openTracker(flags['tracking-uri'], { onStatus: trackerStatusLine(`[trial ${index}] `) });
    try {
      let trial: Trial | undefined = phase1[index];
      if (phase === 'refine') {
        // read, not create: an index out of range must leave no experiment behind
        const existing = await tracker.getExperimentByName(spec.name);
        const trials = existing === undefined ? [] : expandRefine(spec, phase1, await tracker.searchRuns([existing]));
        trial = trials[index];
        if (!trial) throw outOfRange(label, phase, index, trials.length);
      }
      if (!trial) throw outOfRange(label, phase, index, phase1.length);
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
      process.stderr.write(`[trial ${index}] ${trial.runName} (${trial.trialId}) → ${tracker.uri}, experiment ${spec.name}\n`);
      const outcome = await runTrial(trial, {
        tracker,
        experimentId,
        runsDir,
        signal: stop.signal,
        threads,
        retryDiverged: flags['retry-diverged'] ?? false,
        onEvent: (event) => {
          showProgress(event);
          if (event.type === 'start') training = true;
          // the checkpoint written after the stop request: what is left is recording the run as KILLED
          if (event.type === 'checkpoint' && stop.signal.aborted) {
            training = false;
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
      if (verbose) {
        const { runId, status } = outcome;
        const summary: Record<string, unknown> = { index, trialId: trial.trialId, runId, status };
        if (outcome.previous) summary.previous = outcome.previous;
        if (outcome.scores) summary.scores = outcome.scores;
        if (outcome.timing) summary.timing = outcome.timing;
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      }
      return exitCode(outcome);
    } finally {
      await tracker.close();
    }
  } finally {
    stop.dispose();
  }
}
