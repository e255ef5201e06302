/**
 * `ganstudy sweep <file> [--parallel N] [--dry-run]`: run every trial of a sweep file (resumable).
 */
import { parseArgs } from 'node:util';
import { SweepSpecError } from '../../sweep/define.js';
import { runSweep } from '../../sweep/scheduler.js';
import { createStopControl, SETTLE_MS, stopGraceMs } from '../stop.js';

const USAGE = `usage: ganstudy sweep <sweeps/file.ts> [options]

Trains and evaluates every trial of the sweep, each in a child process, and logs it to MLflow
(MLFLOW_TRACKING_URI, default sqlite:///mlflow.db). Running it again skips finished trials and resumes the others
from their last checkpoint.

options:
  --parallel N        trials at once (default: the sweep's \`parallel\`, else 1); the CPU cores are split between them
  --dry-run           list the trials (index, trial id, status in the tracker, run name); run nothing
  --runs-dir DIR      checkpoint root (default ./runs, or GANSTUDY_RUNS_DIR)
  --tracking-uri URI  instead of MLFLOW_TRACKING_URI
  --retry-diverged    train again the trials that diverged before (skipped by default)
`;

export async function run(argv: string[]): Promise<number> {
  let values: { parallel?: string; 'dry-run'?: boolean; 'runs-dir'?: string; 'tracking-uri'?: string; 'retry-diverged'?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        parallel: { type: 'string', short: 'p' },
        'dry-run': { type: 'boolean' },
        'runs-dir': { type: 'string' },
        'tracking-uri': { type: 'string' },
        'retry-diverged': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`ganstudy sweep: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`ganstudy sweep: expected one sweep file, got ${positionals.length}\n\n${USAGE}`);
    return 2;
  }
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1)) {
    process.stderr.write(`ganstudy sweep: --parallel: expected a whole number >= 1, got "${values.parallel}"\n`);
    return 2;
  }

  // bounded stop: while trials run, each bounds its own stop; with none running only the tracker is left to wait for
  let running = 0;
  const stop = createStopControl({
    label: 'ganstudy sweep:',
    action: 'no new trials; running trials checkpoint and exit',
    busy: () => running > 0,
    // outlasts the trials' own bounded stops, so the scheduler does not leave before its children
    graceMs: stopGraceMs() + SETTLE_MS + 5_000,
  });
  try {
    const result = await runSweep(positionals[0], {
      parallel,
      dryRun: values['dry-run'] ?? false,
      runsDir: values['runs-dir'],
      trackingUri: values['tracking-uri'],
      retryDiverged: values['retry-diverged'] ?? false,
      signal: stop.signal,
      onRunningChange: (n) => {
        running = n;
        if (n === 0 && stop.signal.aborted) stop.settled();
      },
    });
    return result.exitCode;
  } catch (e) {
    if (e instanceof SweepSpecError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    // stopping while the tracker could not be reached: the message, not a stack trace
    if (stop.signal.aborted) {
      process.stderr.write(`ganstudy sweep: stopped: ${(e as Error).message}\n`);
      return 130;
    }
    throw e;
  } finally {
    stop.dispose();
  }
}
