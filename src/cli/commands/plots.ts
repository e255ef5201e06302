/**
 * `ganstudy plots [--sweep name ...] [--out results] [--k 10] [--tracking-uri uri] [--no-write]`: regenerate
 * results/<sweep>/ (figures, README.md) from the tracking store alone. Without --sweep, every experiment that
 * holds ganstudy runs (tag ganstudy.sweep) is reported. By default the top-10 tags and the sweep's one report run
 * are updated in place; --no-write only reads the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { discoverSweeps, generateReport } from '../../report/index.js';
import { storeLabel } from '../../report/markdown.js';
import { openTracker, type OpenedTracker } from '../../tracking/index.js';

const USAGE = `usage: ganstudy plots [--sweep <name> ...] [--out <dir>] [--k <n>] [--tracking-uri <uri>] [--no-write]

  --sweep         sweep (= MLflow experiment) to report; repeatable. Default: every experiment with ganstudy runs
  --out           results root; each sweep is written to <out>/<sweep>/ (default: results)
  --k             size of the top sets per (dataset, model, metric) (default: 10)
  --tracking-uri  tracking store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)
  --no-write      only read the store: no top-10 tags, no report run (works on a read-only store)
`;

const ArgsSchema = z.object({
  sweep: z.array(z.string().min(1)).default([]),
  out: z.string().min(1).default('results'),
  k: z.coerce.number().int('--k must be a whole number').positive('--k must be at least 1').default(10),
  'tracking-uri': z.string().min(1).optional(),
  'no-write': z.boolean().default(false),
  help: z.boolean().default(false),
});

export async function run(argv: string[]): Promise<number> {
  let raw: ReturnType<typeof parseArgs>['values'];
  try {
    raw = parseArgs({
      args: argv,
      options: {
        sweep: { type: 'string', multiple: true },
        out: { type: 'string' },
        k: { type: 'string' },
        'tracking-uri': { type: 'string' },
        'no-write': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`ganstudy plots: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const parsed = ArgsSchema.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n');
    process.stderr.write(`ganstudy plots: ${msg}\n\n${USAGE}`);
    return 2;
  }
  const args = parsed.data;
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const t0 = Date.now();
  const write = !args['no-write'];
  // a read-only report must not resend writes that a crashed process left in the shared journal
  const journalDir = write ? undefined : await mkdtemp(path.join(os.tmpdir(), 'ganstudy-plots-journal-'));
  let tracker: OpenedTracker;
  try {
    // opening a sqlite store creates it: a report must not leave an empty database behind a typo
    tracker = await openTracker(args['tracking-uri'], { mustExist: true, ...(journalDir ? { journalDir } : {}) });
  } catch (err) {
    process.stderr.write(`ganstudy plots: ${(err as Error).message}\n`);
    if (journalDir) await rm(journalDir, { recursive: true, force: true });
    return 1;
  }
  try {
    let sweeps = args.sweep;
    if (sweeps.length === 0) {
      process.stderr.write(`looking for sweeps in ${tracker.uri}\n`);
      sweeps = await discoverSweeps(tracker);
      if (sweeps.length === 0) {
        process.stderr.write(`ganstudy plots: no experiment in ${tracker.uri} has ganstudy runs; run a sweep first (npm run sweep -- sweeps/quickstart.ts)\n`);
        return 1;
      }
      process.stderr.write(`sweeps: ${sweeps.join(', ')}\n`);
    }
    const summary = await generateReport({
      tracker,
      sweeps,
      outDir: args.out,
      k: args.k,
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
  } catch (err) {
    // expected failures (unknown sweep, unreachable server) are reported by their message, not a stack
    process.stderr.write(`ganstudy plots: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await tracker.close();
    if (journalDir) await rm(journalDir, { recursive: true, force: true });
  }
}
