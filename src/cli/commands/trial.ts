/**
 * `ganstudy trial <file> --index i`: run exactly trial i of a sweep: the unit the sweep scheduler runs in a
 * child process and a Kubernetes Indexed Job runs per pod (index from JOB_COMPLETION_INDEX when --index is
 * absent). Idempotent: a finished trial is skipped, an interrupted one resumes from its checkpoint.
 *
 * Exit codes: 0 finished (or already finished), 1 failed, 2 bad usage or sweep file, 3 diverged, 130 stopped.
 */
import { parseArgs } from 'node:util';
import { SweepSpecError } from '../../sweep/define.js';
import { expandRefine, expandSweep, type Trial } from '../../sweep/expand.js';
import { loadSweepFile } from '../../sweep/load.js';
import { TRIAL_EXIT } from '../../sweep/scheduler.js';
import { createStopControl } from '../stop.js';

const USAGE = `usage: ganstudy trial <sweeps/file.ts> [--index i] [options]

Runs exactly one trial of the sweep and logs it to MLflow (MLFLOW_TRACKING_URI, default sqlite:///mlflow.db).

options:
  --index i           the trial (as \`ganstudy sweep <file> --dry-run\` numbers them); default: JOB_COMPLETION_INDEX
  --phase P           grid (default) or refine (the sweep's second phase, computed from the tracker's scores)
  --runs-dir DIR      checkpoint root (default ./runs, or GANSTUDY_RUNS_DIR)
  --retry-diverged    train again a trial that diverged before
  --prepare           instead of a trial: train (or find cached) the dataset classifiers the sweep's metrics need
                      (\`ganstudy sweep\` does this once before starting trials in parallel)
`;

export async function run(argv: string[]): Promise<number> {
  let values: { index?: string; phase?: string; 'runs-dir'?: string; 'retry-diverged'?: boolean; prepare?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        index: { type: 'string', short: 'i' },
        phase: { type: 'string' },
        'runs-dir': { type: 'string' },
        'retry-diverged': { type: 'boolean' },
        prepare: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`ganstudy trial: ${(e as Error).message}\n\n${USAGE}`);
    return TRIAL_EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`ganstudy trial: expected one sweep file, got ${positionals.length}\n\n${USAGE}`);
    return TRIAL_EXIT.usage;
  }
  if (values.prepare) {
    try {
      const { spec, label } = await loadSweepFile(positionals[0]);
      const { prepareClassifiers } = await import('../../sweep/dataset-classifiers.js');
      await prepareClassifiers(expandSweep(spec, { label }), { log: (line) => process.stderr.write(`${line}\n`) });
      return 0;
    } catch (e) {
      if (e instanceof SweepSpecError) {
        process.stderr.write(`${e.message}\n`);
        return TRIAL_EXIT.usage;
      }
      throw e;
    }
  }
  const rawIndex = values.index ?? process.env.JOB_COMPLETION_INDEX;
  const index = Number(rawIndex);
  if (rawIndex === undefined || rawIndex === '' || !Number.isInteger(index) || index < 0) {
    process.stderr.write(
      `ganstudy trial: --index: expected a whole number >= 0, got ${rawIndex === undefined ? 'nothing (and JOB_COMPLETION_INDEX is not set)' : `"${rawIndex}"`}\n`,
    );
    return TRIAL_EXIT.usage;
  }
  const phase = values.phase ?? 'grid';
  if (phase !== 'grid' && phase !== 'refine') {
    process.stderr.write(`ganstudy trial: --phase: expected grid or refine, got "${phase}"\n`);
    return TRIAL_EXIT.usage;
  }

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
    const { spec, label } = await loadSweepFile(positionals[0]);
    const phase1 = expandSweep(spec, { label });
    // heavy modules (TensorFlow, the tracker) load only once the arguments and the sweep file are known to be good
    const { openSweepExperiment, openTracker } = await import('../../tracking/index.js');
    const { runTrial } = await import('../../sweep/run-trial.js');
    const { createProgressLine } = await import('../progress.js');
    const showProgress = createProgressLine(process.stderr);
    const tracker = await openTracker(undefined, { signal: stop.signal });
    try {
      const experimentId = await openSweepExperiment(tracker, spec.name, `ganstudy sweep ${label}`);
      let trials: Trial[] = phase1;
      if (phase === 'refine') {
        if (!spec.refine) {
          process.stderr.write(`${label}: --phase refine: this sweep has no \`refine\` section\n`);
          return TRIAL_EXIT.usage;
        }
        trials = expandRefine(spec, phase1, await tracker.searchRuns([experimentId]));
      }
      const trial = trials[index];
      if (!trial) {
        process.stderr.write(
          `${label}: --index ${index}: out of range; the ${phase} phase has ${trials.length} trial(s)` +
            `${trials.length > 0 ? ` (0..${trials.length - 1})` : ''}; list them with \`ganstudy sweep ${label} --dry-run\`\n`,
        );
        return TRIAL_EXIT.usage;
      }
      const expected = process.env.GANSTUDY_EXPECT_TRIAL_ID;
      if (expected && expected !== trial.trialId) {
        process.stderr.write(`${label}: trial ${index} is now ${trial.trialId}, the sweep started it as ${expected}: was the sweep file edited mid-sweep?\n`);
        return TRIAL_EXIT.failed;
      }
      const threads = Number(process.env.TF_NUM_INTRAOP_THREADS ?? '') || undefined;
      process.stderr.write(`[trial ${index}] ${trial.runName} (${trial.trialId}) → ${tracker.shownUri}, experiment ${spec.name}\n`);
      const outcome = await runTrial(trial, {
        tracker,
        experimentId,
        runsDir: values['runs-dir'] ?? process.env.GANSTUDY_RUNS_DIR ?? 'runs',
        signal: stop.signal,
        threads,
        retryDiverged: values['retry-diverged'] ?? false,
        onEvent: (event) => {
          showProgress(event);
          if (event.type === 'start') training = true;
          // the checkpoint written after the stop request: what is left is recording the run as KILLED
          if (event.type === 'checkpoint' && stop.signal.aborted) {
            training = false;
            stop.settled();
          }
        },
        log: (line) => process.stderr.write(`${line}\n`),
        onPhase: (phase) => {
          // during evaluation a JS handler could not run until it ends: let the default action stop the process
          stop.handleSignals(phase === 'train' && !stop.signal.aborted);
        },
      });
      const summary: Record<string, unknown> = { index, trialId: trial.trialId, runId: outcome.runId, status: outcome.status };
      if (outcome.previous) summary.previous = outcome.previous;
      if (outcome.scores) summary.scores = outcome.scores;
      if (outcome.timing) summary.timing = outcome.timing;
      process.stdout.write(`${JSON.stringify(summary)}\n`);
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
    } finally {
      await tracker.close();
    }
  } catch (e) {
    if (e instanceof SweepSpecError) {
      process.stderr.write(`${e.message}\n`);
      return TRIAL_EXIT.usage;
    }
    // stopping while the tracker could not be reached: the message, not a stack trace
    if (stop.signal.aborted) {
      process.stderr.write(`[trial ${index}] stopped: ${(e as Error).message}\n`);
      return TRIAL_EXIT.interrupted;
    }
    throw e;
  } finally {
    stop.dispose();
  }
}
