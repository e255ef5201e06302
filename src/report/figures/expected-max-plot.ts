/**
 * Expected maximum performance (Dodge et al. 2019) for one dataset and metric: x = number of settings tried,
 * y = the expected test score of the val-best among them, one line per model with a ±1 std band; the real-data
 * reference as a dashed line.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ExpectedMaxCurve } from '../types.js';
import type { Reference } from './metric-plot.js';

export const EXPECTED_MAX_SIZE = { width: 420, height: 300 };

export function expectedMaxSpec(
  dataset: string,
  metric: string,
  yTitle: string,
  curves: readonly ExpectedMaxCurve[],
  models: readonly string[],
  reference?: Reference,
): TopLevelSpec {
  const rows = curves.flatMap((c) =>
    c.expected.map((e, i) => ({ model: c.model, n: i + 1, expected: e, lo: e - c.std[i], hi: e + c.std[i] })),
  );
  const color = {
    field: 'model',
    type: 'nominal' as const,
    sort: [...models],
    scale: { domain: [...models], scheme: 'tableau10' },
  };
  const x = {
    field: 'n',
    type: 'quantitative' as const,
    title: 'settings tried (n)',
    scale: { zero: false },
    axis: { tickMinStep: 1, format: 'd' },
  };
  const refLayers =
    reference && Number.isFinite(reference.value)
      ? [
          {
            data: { values: [{ value: reference.value, label: reference.label }] },
            mark: { type: 'rule', color: '#1f77b4', strokeDash: [6, 4], strokeWidth: 1.5 },
            encoding: { y: { field: 'value', type: 'quantitative' } },
          },
        ]
      : [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${dataset}: expected ${metric} of the val-best of n settings`,
      subtitle: 'Dodge et al. 2019 · band: ±1 std · dashed: real data',
      anchor: 'start',
      subtitleFontSize: 10,
    },
    width: EXPECTED_MAX_SIZE.width,
    height: EXPECTED_MAX_SIZE.height,
    background: 'white',
    layer: [
      {
        data: { values: rows },
        layer: [
          {
            mark: { type: 'area', opacity: 0.18 },
            encoding: {
              x,
              y: { field: 'lo', type: 'quantitative', title: yTitle, scale: { zero: false } },
              y2: { field: 'hi' },
              color,
            },
          },
          {
            mark: { type: 'line', point: true },
            encoding: { x, y: { field: 'expected', type: 'quantitative', title: yTitle }, color },
          },
        ],
      },
      ...refLayers,
    ],
  } as TopLevelSpec;
}
