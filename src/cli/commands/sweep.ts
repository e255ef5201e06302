/**
 * `ganstudy sweep <file> [--parallel N] [--dry-run]`: run every trial of a sweep file (resumable).
 */
import { parseArgs } from 'node:util';
import { SweepSpecError } from '../../sweep/define.js';
import { runSweep } from '../../sweep/scheduler.js';

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

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\nganstudy sweep: ${sig}: stopping; running trials checkpoint and exit (${sig} again to quit at once)\n`);
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runSweep(positionals[0], {
      parallel,
      dryRun: values['dry-run'] ?? false,
      runsDir: values['runs-dir'],
      trackingUri: values['tracking-uri'],
      retryDiverged: values['retry-diverged'] ?? false,
      signal: controller.signal,
    });
    return result.exitCode;
  } catch (e) {
    if (e instanceof SweepSpecError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
