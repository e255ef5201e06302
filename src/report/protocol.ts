/**
 * The evaluation protocol as the runs logged it: each protocol field is read under the param name that
 * src/tracking/run-record.ts gives it, and every distinct value is listed with the number of runs that had it.
 */
import { EvalProtocolSchema } from '../../metrics/protocol.js';
import { protocolParam, TAGS } from '../tracking/run-record.js';
import type { ReportRun } from './types.js';

export interface ProtocolRow {
  setting: string;
  /** value → number of runs; empty when no run logged it */
  values: Map<string, number>;
}

const TRAINING_PARAMS = ['steps', 'batch_size'] as const;

function collect(runs: readonly ReportRun[], pick: (r: ReportRun) => string | undefined): Map<string, number> {
  const values = new Map<string, number>();
  for (const r of runs) {
    const v = pick(r);
    if (v !== undefined) values.set(v, (values.get(v) ?? 0) + 1);
  }
  return new Map([...values].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

export function protocolRows(runs: readonly ReportRun[]): ProtocolRow[] {
  const rows: ProtocolRow[] = [];
  for (const field of Object.keys(EvalProtocolSchema.shape)) {
    rows.push({ setting: field, values: collect(runs, (r) => protocolParam(r.params, field)) });
  }
  rows.push({ setting: `classifier (tag ${TAGS.classifier})`, values: collect(runs, (r) => r.tags[TAGS.classifier]) });
  for (const p of TRAINING_PARAMS) rows.push({ setting: `training ${p}`, values: collect(runs, (r) => r.params[p]) });
  return rows;
}

export function formatValues(values: Map<string, number>, total: number): string {
  if (values.size === 0) return 'not logged';
  return [...values].map(([v, n]) => (n === total ? `${v}` : `${v} (${n} runs)`)).join(', ');
}
