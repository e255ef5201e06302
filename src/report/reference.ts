/**
 * The real-data reference a metric is read against (paper-spec: every score beside the same statistic of real
 * data): the mean over a dataset's FINISHED runs of `test/<metric>_real`, as the trials logged it. The independent
 * critic's Ŵ is a distance to the real data, so its reference is 0 by definition.
 */
import { METRIC_KEYS } from '../tracking/run-record.js';
import { mean } from './stats.js';
import type { ReportRun } from './types.js';

export interface RealReference {
  metric: string;
  value: number;
  /** how many runs logged it, and whether they disagree (different real sets or protocols) */
  runs: number;
  distinct: number;
  /** 'logged' (test/<metric>_real) or 'definition' (Ŵ = 0) */
  source: 'logged' | 'definition';
}

const BY_DEFINITION: Record<string, number> = { critic_w: 0 };

export function realReference(runs: readonly ReportRun[], metric: string): RealReference | undefined {
  if (BY_DEFINITION[metric] !== undefined) {
    return { metric, value: BY_DEFINITION[metric], runs: 0, distinct: 1, source: 'definition' };
  }
  const key = METRIC_KEYS.real(metric);
  const values = runs.filter((r) => r.status === 'FINISHED' && Number.isFinite(r.test[key])).map((r) => r.test[key]);
  if (values.length === 0) return undefined;
  return { metric, value: mean(values), runs: values.length, distinct: new Set(values).size, source: 'logged' };
}

export function referenceLabel(ref: RealReference): string {
  return ref.source === 'definition' ? 'real data (Ŵ = 0)' : `real data (test ${METRIC_KEYS.real(ref.metric)})`;
}
