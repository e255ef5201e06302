/**
 * `ganstudy plots [--sweep name ...] [--out results] [--k 10] [--tracking-uri uri] [--no-write]`: regenerate
 * results/<sweep>/ (figures, README.md) from the tracking store alone. Without --sweep, every experiment that
 * holds ganstudy runs (tag ganstudy.sweep) is reported. By default the top-10 tags and the sweep's one report run
 * are updated in place; --no-write only reads the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine, TRACKING_FLAG, wholeNumber } from '../args.js';
import { UserError } from '../errors.js';
import { checkTrackingStore, checkWritableDir, trackerStatusLine, TRACKING_ENV_HELP } from '../preflight.js';

const USAGE = `usage: ganstudy plots [options]

Regenerates <out>/<sweep>/ (figures, tables, README.md) from the tracking store alone.

options:
  --sweep NAME        sweep (= MLflow experiment) to report; repeatable (default: every experiment with ganstudy runs)
  --out DIR           results root; each sweep is written to <out>/<sweep>/ (default: results)
  --k N               size of the top sets per (dataset, model, metric) (default: 10)
  --tracking-uri URI  tracking store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db; must exist)
  --no-write          only read the store: no top-10 tags, no report run (works on a read-only store)
  -v, --verbose       stack traces on errors
  -h, --help          this text

${TRACKING_ENV_HELP}`;

const FLAGS = {
  sweep: { type: 'string', multiple: true },
  out: { type: 'string' },
  k: { type: 'string' },
  'no-write': { type: 'boolean' },
  ...TRACKING_FLAG,
} as const;

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseCommandLine('plots', argv, FLAGS);
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const k = wholeNumber('k', flags.k, 1) ?? 10;
  const out = flags.out ?? 'results';
  if (out === '') throw new UserError('--out: expected a folder, got ""', 2);
  const sweepNames = flags.sweep ?? [];
  if (sweepNames.some((s) => s.trim() === '')) throw new UserError('--sweep: expected a sweep name, got ""', 2);
  // opening a sqlite store creates it: a report must not leave an empty database behind a typo
  await checkTrackingStore(flags['tracking-uri'], { mustExist: true });
  await checkWritableDir(out, '--out');
  const t0 = Date.now();
  const { discoverSweeps, generateReport } = await import('../../report/index.js');
  const { openTracker } = await import('../../tracking/index.js');
  const { storeLabel } = await import('../../report/markdown.js');
  const write = !flags['no-write'];
  // a read-only report must not resend writes that a crashed process left in the shared journal
  const journalDir = write ? undefined : await mkdtemp(path.join(os.tmpdir(), 'ganstudy-plots-journal-'));
  const tracker = await openTracker(flags['tracking-uri'], {
    mustExist: true,
    onStatus: trackerStatusLine(''),
    ...(journalDir ? { journalDir } : {}),
  }).catch(async (err: unknown) => {
    if (journalDir) await rm(journalDir, { recursive: true, force: true });
    throw err;
  });
  try {
    let sweeps = sweepNames;
    if (sweeps.length === 0) {
      process.stderr.write(`looking for sweeps in ${tracker.uri}\n`);
      sweeps = await discoverSweeps(tracker);
      if (sweeps.length === 0) {
        throw new UserError(
          `no experiment in ${tracker.uri} has ganstudy runs; ` +
            'run a sweep first (npm run sweep -- sweeps/quickstart.ts)',
        );
      }
      process.stderr.write(`sweeps: ${sweeps.join(', ')}\n`);
    }
    for (const name of sweeps) {
      if ((await tracker.getExperimentByName(name)) !== undefined) continue;
      const known = (await discoverSweeps(tracker)).map((s) => `'${s}'`);
      throw new UserError(
        `--sweep ${name}: no such experiment in ${tracker.uri}; ` +
          (known.length > 0 ? `sweeps there: ${known.join(', ')}` : 'it holds no ganstudy sweep yet'),
        2,
      );
    }
    const summary = await generateReport({
      tracker,
      sweeps,
      outDir: out,
      k,
      write,
      storeLabel: storeLabel(tracker.storeUri),
      onProgress: (msg) => process.stderr.write(`${msg}\n`),
    });
    for (const s of summary.sweeps) {
      process.stdout.write(
        `${s.sweep}: ${s.readme} — ${s.figures.length} figures, ${s.topSets.length} top sets, ` +
          `${s.runs.finished}/${s.runs.total} runs finished, ` +
          `${s.reportRunId ? `report run ${s.reportRunId}` : 'store not written'}, ` +
          `${(s.elapsedMs / 1000).toFixed(1)} s\n`,
      );
    }
    process.stdout.write(`report took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return 0;
  } finally {
    await tracker.close();
    if (journalDir) await rm(journalDir, { recursive: true, force: true });
  }
}
