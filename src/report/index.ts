/**
 * The report: read a sweep's runs from the tracking store, rank them per (dataset, model, metric), tag the top
 * sets in MLflow, draw the paper's figures (Vega-Lite → SVG → PNG), write results/<sweep>/README.md, and log
 * everything as artifacts of a report run (tag `ganstudy.report=true`) in the sweep's experiment.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Tracker } from '../tracking/types.js';
import { curvesSpec, type CurveSeries } from './figures/curves.js';
import { metricPlotSpec } from './figures/metric-plot.js';
import { renderVegaLite } from './figures/render.js';
import { writeSampleGrid, type SampleTile } from './figures/sample-grid.js';
import { formatNumber, shortRunLabel } from './format.js';
import { renderReadme } from './markdown.js';
import { loadSweepRuns } from './query.js';
import { orderDatasets, orderModels, primarySet, selectTopSets } from './select.js';
import { applyTagChanges, planTagChanges } from './tags.js';
import { REPORT_TAG, TRAIN_PREFIX, type FigureFiles, type ReportSummary, type SweepReport } from './types.js';

export * from './types.js';
export { selectTopSets, rankGroup, compareRuns, directionOf, orderModels, primarySet, PRIMARY_METRIC_ORDER } from './select.js';
export { planTagChanges, applyTagChanges, topTagKey } from './tags.js';
export { discoverSweeps, type ExperimentLister, type ExperimentRef } from './sweep-discovery.js';
export { loadSweepRuns } from './query.js';
export { tableHeader } from './markdown.js';
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
  /** how many of a model's top runs get training curves (default 5, so the lines stay readable) */
  curveRuns?: number;
  /** overrides PRIMARY_METRIC_ORDER's first present metric */
  primaryMetric?: string;
  onProgress?: (msg: string) => void;
}

/** The sweep's folder under the results root: a single safe path segment (never '.', '..' or empty). */
export function sweepDirName(sweep: string): string {
  const safe = sweep.replace(/[^A-Za-z0-9._-]+/g, '_');
  return /^\.*$/.test(safe) ? `_${safe}` : safe;
}

function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

async function reportSweep(opts: ReportOptions, sweep: string, k: number): Promise<SweepReport> {
  const t0 = Date.now();
  const { tracker } = opts;
  const say = opts.onProgress ?? (() => {});
  say(`[${sweep}] reading runs from ${tracker.uri}`);
  const loaded = await loadSweepRuns(tracker, sweep);
  const runs = loaded.runs;
  const finished = runs.filter((r) => r.status === 'FINISHED').length;
  say(`[${sweep}] ${runs.length} runs (${finished} finished, ${loaded.ignored} ignored)`);

  const topSets = selectTopSets(runs, k);
  const tagChanges = planTagChanges(runs, topSets);
  await applyTagChanges(tracker, tagChanges);
  say(`[${sweep}] top-${k} tags: ${tagChanges.set.length} set, ${tagChanges.removed.length} removed`);

  const dir = path.join(opts.outDir, sweepDirName(sweep));
  const figDir = path.join(dir, 'figures');
  // results/ is generated: stale figures of models or metrics that are gone must not survive a rerun
  await rm(figDir, { recursive: true, force: true });
  await mkdir(figDir, { recursive: true });
  const figures: FigureFiles[] = [];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-report-'));
  try {
    for (const dataset of orderDatasets(topSets.map((s) => s.dataset))) {
      const ofD = topSets.filter((s) => s.dataset === dataset);
      const models = orderModels(runs.filter((r) => r.dataset === dataset).map((r) => r.model));

      for (const metric of [...new Set(ofD.map((s) => s.metric))]) {
        const base = path.join(figDir, `${fileSafe(dataset)}-${fileSafe(metric)}`);
        const f = await renderVegaLite(metricPlotSpec(dataset, metric, ofD.filter((s) => s.metric === metric), models), base);
        figures.push({ title: `${dataset}: ${metric}`, kind: 'metric', dataset, png: f.png, svg: f.svg, vegaLite: f.vegaLite, width: f.width, height: f.height });
        say(`[${sweep}] figure ${path.relative(process.cwd(), f.png)}`);
      }

      const tiles: SampleTile[] = [];
      for (const model of models) {
        const primary = primarySet(ofD.filter((s) => s.model === model), opts.primaryMetric);
        if (!primary) continue;
        const curveRuns = primary.top.slice(0, opts.curveRuns ?? 5);
        const series: CurveSeries[] = [];
        for (const [i, run] of curveRuns.entries()) {
          for (const loss of run.trainKeys) {
            const points = await tracker.getMetricHistory(run.runId, `${TRAIN_PREFIX}${loss}`);
            if (points.length > 0) series.push({ rank: i + 1, runName: run.runName, loss, points });
          }
        }
        if (series.length > 0) {
          const base = path.join(figDir, `${fileSafe(dataset)}-curves-${fileSafe(model)}`);
          const f = await renderVegaLite(curvesSpec(dataset, model, primary.metric, series), base);
          figures.push({ title: `${dataset}: training curves, ${model}`, kind: 'curves', dataset, png: f.png, svg: f.svg, vegaLite: f.vegaLite, width: f.width, height: f.height });
          say(`[${sweep}] figure ${path.relative(process.cwd(), f.png)}`);
        }

        const local = path.join(scratch, `${primary.best.runId}-samples.png`);
        let image: Buffer | undefined;
        try {
          await tracker.downloadArtifact(primary.best.runId, 'samples.png', local);
          image = await readFile(local);
        } catch {
          image = undefined; // the tile says "no samples.png"
        }
        tiles.push({
          title: model,
          subtitle: `best ${primary.metric} ${formatNumber(primary.bestValue)} · ${shortRunLabel(primary.best.runName, model, dataset)}`,
          image,
        });
      }
      if (tiles.length > 0) {
        const png = path.join(figDir, `${fileSafe(dataset)}-samples.png`);
        const size = await writeSampleGrid(tiles, png);
        figures.push({ title: `${dataset}: samples of each model's best run`, kind: 'samples', dataset, png, ...size });
        say(`[${sweep}] figure ${path.relative(process.cwd(), png)}`);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const generatedAt = new Date();
  const reportRun = await tracker.createRun(loaded.experimentId, {
    runName: `report ${generatedAt.toISOString()}`,
    tags: { [REPORT_TAG]: 'true' },
  });
  const readme = path.join(dir, 'README.md');
  try {
    await writeFile(
      readme,
      renderReadme({ sweep, trackerUri: tracker.uri, reportRunId: reportRun.runId, generatedAt, k, runs, topSets, figures, dir }),
    );
    await tracker.logParams(reportRun.runId, { k, sweep, runs: runs.length, finished });
    for (const f of figures) {
      for (const file of [f.png, f.svg, f.vegaLite]) if (file) await tracker.logArtifact(reportRun.runId, file, 'figures');
    }
    await tracker.logArtifact(reportRun.runId, readme, '');
    await tracker.setRunStatus(reportRun.runId, 'FINISHED', Date.now());
    await tracker.flush();
  } catch (err) {
    await tracker.setRunStatus(reportRun.runId, 'FAILED', Date.now()).catch(() => undefined);
    throw err;
  }
  const elapsedMs = Date.now() - t0;
  say(`[${sweep}] wrote ${path.relative(process.cwd(), readme)} and ${figures.length} figures in ${(elapsedMs / 1000).toFixed(1)} s`);
  return {
    sweep,
    experimentId: loaded.experimentId,
    dir,
    readme,
    figures,
    reportRunId: reportRun.runId,
    topSets,
    tagChanges,
    runs: { total: runs.length, finished, ignored: loaded.ignored },
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
