/**
 * Training curves (`train/<loss>` histories) of a model's top runs on one dataset: one panel per loss, one
 * line per run, coloured by rank. Long histories are thinned to at most MAX_POINTS per line so the SVG stays
 * small; the first and last points are always kept.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { MetricPoint } from '../../tracking/types.js';
import { shortRunLabel } from '../format.js';

export const MAX_POINTS = 400;
export const CURVE_PANEL = { width: 260, height: 160 };

export interface CurveSeries {
  rank: number;
  runName: string;
  loss: string;
  points: MetricPoint[];
}

export function thin(points: readonly MetricPoint[], max = MAX_POINTS): MetricPoint[] {
  const sorted = [...points].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  if (sorted.length <= max) return sorted;
  const stride = (sorted.length - 1) / (max - 1);
  const out: MetricPoint[] = [];
  for (let i = 0; i < max; i++) out.push(sorted[Math.round(i * stride)]);
  return out;
}

export function curvesSpec(
  dataset: string,
  model: string,
  rankedBy: string,
  series: readonly CurveSeries[],
): TopLevelSpec {
  const label = (s: CurveSeries): string => `#${s.rank} ${shortRunLabel(s.runName, model, dataset)}`;
  const rows = series.flatMap((s) =>
    thin(s.points)
      .filter((p) => Number.isFinite(p.value))
      .map((p) => ({ run: label(s), rank: s.rank, loss: s.loss, step: p.step, value: p.value })),
  );
  const runs = [...new Set(series.map(label))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${dataset} · ${model}: training curves`, subtitle: `top runs by ${rankedBy}` },
    background: 'white',
    data: { values: rows },
    facet: { field: 'loss', type: 'nominal', title: null, header: { labelFontSize: 12 } },
    columns: 3,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: CURVE_PANEL.width,
      height: CURVE_PANEL.height,
      mark: { type: 'line', strokeWidth: 1.2, clip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: {
          field: 'run',
          type: 'nominal',
          sort: runs,
          title: 'run (rank)',
          scale: { scheme: 'tableau10' },
          legend: { orient: 'bottom', columns: 2, labelLimit: 600 },
        },
        detail: { field: 'run', type: 'nominal' },
      },
    },
  } as TopLevelSpec;
}
