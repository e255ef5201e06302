/**
 * Every figure of one dataset: per metric the comparison plot and the expected-maximum-performance plot, per model
 * the training curves of its top settings, and the sample grid of each model's best setting. Reads only the
 * tracker (curve histories, samples.png) and the ranking already made.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Tracker } from '../../tracking/types.js';
import { formatNumber, shortRunLabel } from '../format.js';
import { realReference, referenceLabel, type RealReference } from '../reference.js';
import { orderModels, primarySet } from '../select.js';
import { TRAIN_PREFIX, type ExpectedMaxCurve, type FigureFiles, type ReportRun, type TopSet } from '../types.js';
import { curvesSpec, type CurveSeries } from './curves.js';
import { expectedMaxSpec } from './expected-max-plot.js';
import { metricPlotSpec, type Reference } from './metric-plot.js';
import { renderVegaLite } from './render.js';
import { writeSampleGrid, type SampleTile } from './sample-grid.js';

export interface DatasetFigureInput {
  tracker: Tracker;
  dataset: string;
  runs: readonly ReportRun[];
  sets: readonly TopSet[];
  curves: readonly ExpectedMaxCurve[];
  figDir: string;
  scratch: string;
  curveRuns: number;
  primaryMetric?: string;
  say: (msg: string) => void;
}

export function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

function toRef(ref: RealReference | undefined): Reference | undefined {
  return ref ? { value: ref.value, label: referenceLabel(ref) } : undefined;
}

async function metricFigures(input: DatasetFigureInput, models: string[]): Promise<FigureFiles[]> {
  const { dataset, sets, figDir } = input;
  const out: FigureFiles[] = [];
  for (const metric of [...new Set(sets.map((s) => s.metric))]) {
    const ofMetric = sets.filter((s) => s.metric === metric);
    const ref = realReference(input.runs, metric);
    const base = path.join(figDir, `${fileSafe(dataset)}-${fileSafe(metric)}`);
    const f = await renderVegaLite(metricPlotSpec(dataset, metric, ofMetric, models, toRef(ref)), base);
    out.push({ title: `${dataset}: ${metric}`, kind: 'metric', dataset, ...f });
    const curves = input.curves.filter((c) => c.metric === metric);
    if (curves.length === 0) continue;
    const closeTo = ofMetric[0].closeTo;
    // with closeness ranking the curve is a distance to the real data, whose own distance is 0
    const emRef = closeTo ? { value: 0, label: 'real data (distance 0)' } : toRef(ref);
    const yTitle = closeTo ? `test |${metric} − ${closeTo}|` : `test ${metric}`;
    const emBase = path.join(figDir, `${fileSafe(dataset)}-${fileSafe(metric)}-expected-max`);
    const em = await renderVegaLite(expectedMaxSpec(dataset, metric, yTitle, curves, models, emRef), emBase);
    out.push({ title: `${dataset}: expected ${metric} vs settings tried`, kind: 'expected-max', dataset, ...em });
  }
  return out;
}

async function curveFigure(
  input: DatasetFigureInput,
  model: string,
  primary: TopSet,
): Promise<FigureFiles | undefined> {
  const series: CurveSeries[] = [];
  for (const [i, setting] of primary.top.slice(0, input.curveRuns).entries()) {
    const run = setting.runs[0];
    for (const loss of run.trainKeys) {
      const points = await input.tracker.getMetricHistory(run.runId, `${TRAIN_PREFIX}${loss}`);
      if (points.length > 0) series.push({ rank: i + 1, runName: run.runName, loss, points });
    }
  }
  if (series.length === 0) return undefined;
  const base = path.join(input.figDir, `${fileSafe(input.dataset)}-curves-${fileSafe(model)}`);
  const f = await renderVegaLite(curvesSpec(input.dataset, model, primary.metric, series), base);
  return { title: `${input.dataset}: training curves, ${model}`, kind: 'curves', dataset: input.dataset, ...f };
}

async function sampleTile(input: DatasetFigureInput, model: string, primary: TopSet): Promise<SampleTile> {
  const run = primary.best.runs[0];
  const local = path.join(input.scratch, `${run.runId}-samples.png`);
  let image: Buffer | undefined;
  try {
    await input.tracker.downloadArtifact(run.runId, 'samples.png', local);
    image = await readFile(local);
  } catch {
    image = undefined; // the tile says "no samples.png"
  }
  const label = shortRunLabel(run.runName, model, input.dataset);
  return { title: model, subtitle: `best ${primary.metric} ${formatNumber(primary.bestValue)} · ${label}`, image };
}

export async function datasetFigures(input: DatasetFigureInput): Promise<FigureFiles[]> {
  const { dataset, sets, figDir, say } = input;
  const models = orderModels(input.runs.map((r) => r.model));
  const figures = await metricFigures(input, models);
  const tiles: SampleTile[] = [];
  for (const model of models) {
    const primary = primarySet(
      sets.filter((s) => s.model === model),
      input.primaryMetric,
    );
    if (!primary) continue;
    const curves = await curveFigure(input, model, primary);
    if (curves) figures.push(curves);
    tiles.push(await sampleTile(input, model, primary));
  }
  if (tiles.length > 0) {
    const png = path.join(figDir, `${fileSafe(dataset)}-samples.png`);
    const size = await writeSampleGrid(tiles, png);
    figures.push({ title: `${dataset}: samples of each model's best setting`, kind: 'samples', dataset, png, ...size });
  }
  for (const f of figures) say(`figure ${path.relative(process.cwd(), f.png)}`);
  return figures;
}
