/**
 * The paper's comparison figure for one dataset and one metric (paper-spec §4): one column per model, every
 * FINISHED run as a faint point, the top-k as black circles, the best value as a red diamond; the y axis says
 * whether lower or higher is better.
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

export function metricAxisTitle(metric: string, direction: Direction): string {
  return `${metric} (${direction} is better)`;
}

export function metricPlotSpec(dataset: string, metric: string, sets: readonly TopSet[], models: readonly string[]): TopLevelSpec {
  const direction = sets[0]?.direction ?? 'lower';
  const k = sets[0]?.k ?? 10;
  const rows = sets.flatMap((s) => {
    const inTop = new Set(s.top.map((r) => r.runId));
    return s.ranked.map((r, i) => ({
      model: s.model,
      value: r.scores[metric],
      run: r.runName,
      runId: r.runId,
      rank: i + 1,
      top: inTop.has(r.runId),
      best: i === 0,
      jitter: jitterOf(r.runId) * 0.6,
    }));
  });
  const size = metricPlotSize(models.length);
  const x = { field: 'model', type: 'nominal' as const, sort: [...models], scale: { domain: [...models] }, axis: { labelAngle: 0, title: 'model' } };
  const y = { field: 'value', type: 'quantitative' as const, scale: { zero: false, nice: true }, axis: { title: metricAxisTitle(metric, direction) } };
  const xOffset = { field: 'jitter', type: 'quantitative' as const, scale: { domain: [-1, 1] }, legend: null };
  const tooltip = [
    { field: 'run', type: 'nominal' as const },
    { field: 'rank', type: 'quantitative' as const },
    { field: 'value', type: 'quantitative' as const, format: '.5g' },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${dataset}: ${metric}`,
      // a title wider than the plot would make 'fit' shrink the plot: keep the key short and left-aligned
      subtitle: `grey: finished runs · circles: top-${k} · red: best`,
      anchor: 'start',
      subtitleFontSize: 11,
    },
    width: size.width,
    height: size.height,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    data: { values: rows },
    encoding: { x, xOffset, y, tooltip },
    layer: [
      { mark: { type: 'point', filled: true, color: '#888888', opacity: 0.35, size: 30 } },
      { transform: [{ filter: 'datum.top' }], mark: { type: 'point', shape: 'circle', filled: false, color: 'black', strokeWidth: 1.5, size: 70 } },
      { transform: [{ filter: 'datum.best' }], mark: { type: 'point', shape: 'diamond', filled: true, color: '#d62728', size: 150 } },
    ],
  } as TopLevelSpec;
}
