/**
 * The paper's comparison figure for one dataset and one metric (paper-spec §4): one column per model, every
 * setting as a faint point at its test/ score, the val-selected top-k as black circles, the val-best as a red
 * diamond, the real-data reference as a dashed line; the y axis says which way is better.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Direction, TopSet } from '../types.js';

export interface MetricPlotSize {
  width: number;
  height: number;
}

/** The whole figure (axes and titles included: autosize 'fit' with 'padding') is exactly this size in SVG units. */
export function metricPlotSize(nModels: number): MetricPlotSize {
  return { width: Math.max(360, 40 + 110 * nModels), height: 340 };
}

/** Deterministic horizontal jitter in [-1, 1] from the run id, so overlapping runs stay visible and reruns match. */
export function jitterOf(runId: string): number {
  let h = 2166136261;
  for (let i = 0; i < runId.length; i++) {
    h ^= runId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  // murmur3's finaliser: ids that differ only in their last characters must still spread over the band
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 0xffffffff) * 2 - 1;
}

/**
 * Which way is better, as the figure's subtitle says it. The y axis title is only `test <metric>`: without a
 * canvas Vega estimates text extents, and a rotated axis title near the plot's height pushes the chart title off
 * the top of a 'fit' figure.
 */
export function metricAxisTitle(metric: string, direction: Direction, closeTo?: string): string {
  return closeTo ? `${metric} (closer to real is better)` : `${metric} (${direction} is better)`;
}

/** The real-data level a metric is read against, drawn as a dashed rule with a label. */
export interface Reference {
  value: number;
  label: string;
}

interface PlotRow {
  model: string;
  value: number;
  lo: number;
  hi: number;
  seeds: number;
  setting: string;
  run: string;
  rank: number;
  top: boolean;
  best: boolean;
  jitter: number;
}

function referenceLayers(ref: Reference | undefined): object[] {
  if (!ref || !Number.isFinite(ref.value)) return [];
  const data = { values: [{ value: ref.value, label: ref.label }] };
  const y = { field: 'value', type: 'quantitative' as const };
  return [
    { data, mark: { type: 'rule', color: '#1f77b4', strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y } },
    {
      data,
      mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 3, dy: -2, color: '#1f77b4', fontSize: 10 },
      encoding: { y, x: { value: 0 }, text: { field: 'label' } },
    },
  ];
}

/** the plot's data: one row per setting with a finite test value, its seeds' spread and its val rank */
function plotRows(sets: readonly TopSet[]): PlotRow[] {
  return sets.flatMap((s) => {
    const inTop = new Set(s.top.map((x) => x.settingId));
    return s.ranked
      .filter((x) => Number.isFinite(x.test))
      .map((x) => {
        const seeds = x.testSeeds.filter((v) => Number.isFinite(v));
        return {
          model: s.model,
          value: x.test,
          lo: Math.min(...seeds),
          hi: Math.max(...seeds),
          seeds: seeds.length,
          setting: x.settingId,
          run: x.runs[0].runName,
          rank: s.ranked.indexOf(x) + 1,
          top: inTop.has(x.settingId),
          best: x === s.best,
          jitter: jitterOf(x.settingId) * 0.6,
        };
      });
  });
}

/**
 * One point per setting at its test/ value (mean over seeds), a vertical line over its seeds' test values (the
 * per-seed spread), the val-selected top-k circled and the val-best as a red diamond; the real-data reference as a
 * dashed line.
 */
export function metricPlotSpec(
  dataset: string,
  metric: string,
  sets: readonly TopSet[],
  models: readonly string[],
  reference?: Reference,
): TopLevelSpec {
  const direction = sets[0]?.direction ?? 'lower';
  const k = sets[0]?.k ?? 10;
  const rows = plotRows(sets);
  const size = metricPlotSize(models.length);
  const x = {
    field: 'model',
    type: 'nominal' as const,
    sort: [...models],
    scale: { domain: [...models] },
    axis: { labelAngle: 0, title: 'model' },
  };
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    scale: { zero: false, nice: true },
    axis: { title: `test ${metric}` },
  };
  const xOffset = { field: 'jitter', type: 'quantitative' as const, scale: { domain: [-1, 1] }, legend: null };
  const tooltip = [
    { field: 'setting', type: 'nominal' as const },
    { field: 'run', type: 'nominal' as const },
    { field: 'rank', type: 'quantitative' as const, title: 'val rank' },
    { field: 'seeds', type: 'quantitative' as const },
    { field: 'value', type: 'quantitative' as const, format: '.4g' },
  ];
  const enc = { x, xOffset, y, tooltip };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${dataset}: ${metric} (test)`,
      // a title wider than the plot would make 'fit' shrink the plot: keep the key short and left-aligned
      subtitle: [
        metricAxisTitle(metric, direction, sets[0]?.closeTo),
        `val top-${k}: circles · best: red · seeds: bars · real: dashed`,
      ],
      anchor: 'start',
      subtitleFontSize: 10,
    },
    width: size.width,
    height: size.height,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    layer: [
      {
        data: { values: rows },
        layer: [
          {
            mark: { type: 'rule', color: '#bbbbbb', strokeWidth: 1 },
            encoding: { ...enc, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
          },
          { mark: { type: 'point', filled: true, color: '#888888', opacity: 0.5, size: 30 }, encoding: enc },
          {
            transform: [{ filter: 'datum.top' }],
            mark: { type: 'point', shape: 'circle', filled: false, color: 'black', strokeWidth: 1.5, size: 70 },
            encoding: enc,
          },
          {
            transform: [{ filter: 'datum.best' }],
            mark: { type: 'point', shape: 'diamond', filled: true, color: '#d62728', size: 150 },
            encoding: enc,
          },
        ],
      },
      ...referenceLayers(reference),
    ],
  } as TopLevelSpec;
}
