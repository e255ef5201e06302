/**
 * The one report run of a sweep (tag `ganstudy.report=true`): created by the first `plots`, reused by every later
 * one, so the experiment holds one "report" run however often the report is regenerated. Facts that change between
 * reports are tags (MLflow refuses to change a logged param); artifacts are overwritten by path.
 */
import { TAGS } from '../tracking/run-record.js';
import type { Run, Tracker } from '../tracking/types.js';
import { REPORT_TAG } from './types.js';

export const REPORT_RUN_NAME = 'report';

/** The report run to write to: the latest existing one, else a new one. */
export async function openReportRun(tracker: Tracker, experimentId: string, existing: readonly Run[]): Promise<string> {
  const latest = existing[0];
  if (latest) {
    await tracker.setRunStatus(latest.info.runId, 'RUNNING');
    return latest.info.runId;
  }
  const run = await tracker.createRun(experimentId, { runName: REPORT_RUN_NAME, tags: { [REPORT_TAG]: 'true' } });
  return run.runId;
}

export function reportRunTags(facts: Record<string, string | number>, generatedAt: Date): Record<string, string> {
  const tags: Record<string, string> = {
    [TAGS.runName]: REPORT_RUN_NAME,
    [`${REPORT_TAG}.generated_at`]: generatedAt.toISOString(),
  };
  for (const [k, v] of Object.entries(facts)) tags[`${REPORT_TAG}.${k}`] = String(v);
  return tags;
}
