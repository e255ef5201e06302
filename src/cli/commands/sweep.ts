/**
 * `ganstudy sweep <file> [--parallel N] [--dry-run]`: run every trial of a sweep file (resumable).
 */
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine, TRACKING_FLAG, wholeNumber } from '../args.js';
import { checkSweepData } from '../sweep-data.js';
import { checkTrackingStore, checkWritableDir, TRACKING_ENV_HELP } from '../preflight.js';
import { createStopControl, SETTLE_MS, stopGraceMs } from '../stop.js';

const USAGE = `usage: ganstudy sweep <sweeps/file.ts> [options]

Trains and evaluates every trial of the sweep, each in a child process, and logs it to MLflow
(MLFLOW_TRACKING_URI, default sqlite:///mlflow.db). Running it again skips finished trials and resumes the others
from their last checkpoint.

options:
  --parallel N        trials at once (default: the sweep's \`parallel\`, else 1); the CPU cores are split between them
  --dry-run           list the trials (index, trial id, status in the tracker, run name); run nothing
  --runs-dir DIR      checkpoint root (default ./runs, or GANSTUDY_RUNS_DIR)
  --tracking-uri URI  tracking store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)
  --retry-diverged    train again the trials that diverged before (skipped by default)
  -v, --verbose       each trial's JSON summary and tracker timings; stack traces on errors
  -h, --help          this text

${TRACKING_ENV_HELP}`;

const FLAGS = {
  parallel: { type: 'string', short: 'p' },
  'dry-run': { type: 'boolean' },
  'runs-dir': { type: 'string' },
  'retry-diverged': { type: 'boolean' },
  ...TRACKING_FLAG,
} as const;

/** --parallel above the core count: said, and what happens then */
function warnOversubscribed(parallel: number | undefined): void {
  const cores = os.availableParallelism();
  if (parallel === undefined || parallel <= cores) return;
  process.stderr.write(
    `ganstudy sweep: --parallel ${parallel} is more than the ${cores} CPU core(s): up to ${parallel} trials will run ` +
      `at once, 1 thread each, sharing the cores (each slower, more memory); --parallel ${cores} is usually as fast\n`,
  );
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommandLine('sweep', argv, FLAGS, { min: 1, max: 1, what: 'sweep file' });
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parallel = wholeNumber('parallel', flags.parallel, 1);
  // children inherit the environment: this is how every trial of the sweep gets --verbose
  if (flags.verbose) process.env.GANSTUDY_VERBOSE = '1';

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
    const { loadSweepFile } = await import('../../sweep/load.js');
    const { spec, label } = await loadSweepFile(positionals[0]);
    warnOversubscribed(parallel ?? spec.parallel);
    await checkTrackingStore(flags['tracking-uri']);
    if (!flags['dry-run']) {
      await checkWritableDir(path.resolve(flags['runs-dir'] ?? process.env.GANSTUDY_RUNS_DIR ?? 'runs'), '--runs-dir');
      await checkSweepData(spec, label);
    }
    const { runSweep } = await import('../../sweep/scheduler.js');
    const result = await runSweep(positionals[0], {
      parallel,
      dryRun: flags['dry-run'] ?? false,
      runsDir: flags['runs-dir'],
      trackingUri: flags['tracking-uri'],
      retryDiverged: flags['retry-diverged'] ?? false,
      signal: stop.signal,
      onRunningChange: (n) => {
        running = n;
        if (n === 0 && stop.signal.aborted) stop.settled();
      },
    });
    return result.exitCode;
  } catch (e) {
    // stopping while the tracker could not be reached: the message, not a stack trace
    if (!stop.signal.aborted) throw e;
    process.stderr.write(`ganstudy sweep: stopped: ${(e as Error).message}\n`);
    return 130;
  } finally {
    stop.dispose();
  }
}
