/**
 * The report: read a sweep's runs from the tracking store, rank settings per (dataset, model, metric) on val/,
 * tag the top sets in MLflow, draw the paper's figures (Vega-Lite → SVG → PNG) with the test/ scores of what was
 * selected, write results/<sweep>/README.md, and log everything as artifacts of the sweep's one report run
 * (tag `ganstudy.report=true`), updated in place. With `write: false` the store is only read.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Tracker } from '../tracking/types.js';
import { expectedMaxCurves } from './expected-max.js';
import { datasetFigures } from './figures/draw.js';
import { FINDINGS_FILE, renderReadme, storeLabel } from './markdown.js';
import { loadSweepRuns, type SweepRuns } from './query.js';
import { openReportRun, reportRunTags } from './report-run.js';
import { orderDatasets, selectTopSets } from './select.js';
import { applyTagChanges, planTagChanges } from './tags.js';
import type { FigureFiles, SweepReport } from './types.js';
import type { ReportSummary } from './types.js';

export * from './types.js';
export {
  selectTopSets,
  rankGroup,
  scoreSetting,
  compareSettings,
  directionOf,
  orderModels,
  primarySet,
  topRuns,
  PRIMARY_METRIC_ORDER,
} from './select.js';
export { planTagChanges, applyTagChanges, topTagKey } from './tags.js';
export { discoverSweeps, type ExperimentLister, type ExperimentRef } from './sweep-discovery.js';
export { loadSweepRuns, dedupeByTrialId } from './query.js';
export { FINDINGS_FILE, tableHeader } from './markdown.js';
export { expectedMaxPerformance } from './expected-max.js';
export { bootstrapMeanInterval, BOOTSTRAP } from './stats.js';
export { metricPlotSize } from './figures/metric-plot.js';
export { sampleGridSize } from './figures/sample-grid.js';
export { PNG_SCALE } from './figures/render.js';

export interface ReportOptions {
  tracker: Tracker;
  sweeps: string[];
  /** results root; each sweep goes to <outDir>/<sweep>/ */
  outDir: string;
  /** top-k size (default 10; the tag keeps the contract's name `ganstudy.top10.<metric>`) */
  k?: number;
  /** how many of a model's top settings get training curves (default 5, so the lines stay readable) */
  curveRuns?: number;
  /** overrides PRIMARY_METRIC_ORDER's first present metric */
  primaryMetric?: string;
  /**
   * false: read the store without touching it — no top-10 tags, no report run, no artifacts (the planned tag
   * changes are still returned); results/<sweep>/ is written either way. Default true.
   */
  write?: boolean;
  /** how the README names the store (default: derived from tracker.uri without machine paths) */
  storeLabel?: string;
  onProgress?: (msg: string) => void;
}

/** The sweep's folder under the results root: a single safe path segment (never '.', '..' or empty). */
export function sweepDirName(sweep: string): string {
  const safe = sweep.replace(/[^A-Za-z0-9._-]+/g, '_');
  return /^\.*$/.test(safe) ? `_${safe}` : safe;
}

async function drawAll(
  opts: ReportOptions,
  loaded: SweepRuns,
  sets: SweepReport['topSets'],
  figDir: string,
  say: (m: string) => void,
): Promise<FigureFiles[]> {
  // results/ is generated: stale figures of models or metrics that are gone must not survive a rerun
  await rm(figDir, { recursive: true, force: true });
  await mkdir(figDir, { recursive: true });
  const curves = expectedMaxCurves(sets);
  const figures: FigureFiles[] = [];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-report-'));
  try {
    for (const dataset of orderDatasets(sets.map((s) => s.dataset))) {
      figures.push(
        ...(await datasetFigures({
          tracker: opts.tracker,
          dataset,
          runs: loaded.runs.filter((r) => r.dataset === dataset),
          sets: sets.filter((s) => s.dataset === dataset),
          curves: curves.filter((c) => c.dataset === dataset),
          figDir,
          scratch,
          curveRuns: opts.curveRuns ?? 5,
          primaryMetric: opts.primaryMetric,
          say,
        })),
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return figures;
}

/** Logs the README and figures to the sweep's one report run (created on the first report). */
async function logToReportRun(
  tracker: Tracker,
  loaded: SweepRuns,
  facts: Record<string, string | number>,
  generatedAt: Date,
  files: { readme: string; figures: FigureFiles[] },
): Promise<string> {
  const runId = await openReportRun(tracker, loaded.experimentId, loaded.reportRuns);
  try {
    await tracker.setTags(runId, reportRunTags(facts, generatedAt));
    for (const f of files.figures) {
      for (const file of [f.png, f.svg, f.vegaLite]) if (file) await tracker.logArtifact(runId, file, 'figures');
    }
    await tracker.logArtifact(runId, files.readme, '');
    await tracker.setRunStatus(runId, 'FINISHED', Date.now());
    await tracker.flush();
  } catch (err) {
    await tracker.setRunStatus(runId, 'FAILED', Date.now());
    await tracker.flush().catch(() => undefined);
    throw err;
  }
  return runId;
}

async function reportSweep(opts: ReportOptions, sweep: string, k: number): Promise<SweepReport> {
  const t0 = Date.now();
  const { tracker } = opts;
  const write = opts.write ?? true;
  const say = (msg: string): void => opts.onProgress?.(`[${sweep}] ${msg}`);
  say(`reading runs from ${tracker.uri}${write ? '' : ' (read-only: --no-write)'}`);
  const loaded = await loadSweepRuns(tracker, sweep);
  const runs = loaded.runs;
  const finished = runs.filter((r) => r.status === 'FINISHED').length;
  say(`${runs.length} runs (${finished} finished, ${loaded.ignored} ignored, ${loaded.duplicates} duplicates)`);
  for (const w of loaded.warnings) say(`warning: ${w}`);

  const topSets = selectTopSets(runs, k);
  const tagChanges = planTagChanges(runs, topSets);
  if (write) await applyTagChanges(tracker, tagChanges);
  say(
    `top-${k} tags: ${tagChanges.set.length} ${write ? 'set' : 'to set'}, ` +
      `${tagChanges.removed.length} ${write ? 'removed' : 'to remove'}`,
  );

  const dir = path.join(opts.outDir, sweepDirName(sweep));
  const figures = await drawAll(opts, loaded, topSets, path.join(dir, 'figures'), say);
  const generatedAt = new Date();
  const readme = path.join(dir, 'README.md');
  const text = renderReadme({
    sweep,
    store: opts.storeLabel ?? storeLabel((tracker as Partial<{ storeUri: string }>).storeUri ?? tracker.uri),
    generatedAt,
    k,
    runs,
    topSets,
    expectedMax: expectedMaxCurves(topSets),
    figures,
    dir,
    warnings: loaded.warnings,
    reportRun: write,
    hasFindings: existsSync(path.join(dir, FINDINGS_FILE)),
  });
  await writeFile(readme, text);
  const facts = { k, sweep, runs: runs.length, finished, duplicates: loaded.duplicates };
  const reportRunId = write
    ? await logToReportRun(tracker, loaded, facts, generatedAt, { readme, figures })
    : undefined;
  const elapsedMs = Date.now() - t0;
  say(
    `wrote ${path.relative(process.cwd(), readme)} and ${figures.length} figures in ${(elapsedMs / 1000).toFixed(1)} s`,
  );
  return {
    sweep,
    experimentId: loaded.experimentId,
    dir,
    readme,
    figures,
    reportRunId,
    topSets,
    expectedMax: expectedMaxCurves(topSets),
    tagChanges,
    runs: { total: runs.length, finished, ignored: loaded.ignored, duplicates: loaded.duplicates },
    warnings: loaded.warnings,
    elapsedMs,
  };
}

export async function generateReport(opts: ReportOptions): Promise<ReportSummary> {
  const t0 = Date.now();
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  if (opts.sweeps.length === 0) throw new Error('generateReport: no sweeps given (pass at least one experiment name)');
  const sweeps: SweepReport[] = [];
  for (const sweep of opts.sweeps) sweeps.push(await reportSweep(opts, sweep, k));
  return { sweeps, elapsedMs: Date.now() - t0 };
}
