/**
 * Keeps `ganstudy.top10.<metric>` = 'true' exactly on the runs (every seed) of the current top settings, which
 * were chosen on val/ scores alone, so the MLflow UI can filter them: sets the tag where it is missing and deletes
 * it from runs that dropped out (or whose metric is
 * no longer ranked). Only differences against the tags already on the runs are written.
 */
import pLimit from 'p-limit';
import { TAGS, type Tracker } from '../tracking/types.js';
import { topRuns } from './select.js';
import type { ReportRun, TagChanges, TopSet } from './types.js';

export function topTagKey(metric: string): string {
  return `${TAGS.top10Prefix}${metric}`;
}

/** The changes that bring the runs' tags to the wanted state (pure: for tests and dry runs). */
export function planTagChanges(runs: readonly ReportRun[], topSets: readonly TopSet[]): TagChanges {
  const wanted = new Set<string>();
  for (const s of topSets) for (const r of topRuns(s)) wanted.add(`${r.runId}\u0000${topTagKey(s.metric)}`);
  const set: TagChanges['set'] = [];
  const removed: TagChanges['removed'] = [];
  for (const run of runs) {
    const have = Object.keys(run.tags).filter((key) => key.startsWith(TAGS.top10Prefix));
    for (const key of have) {
      if (!wanted.has(`${run.runId}\u0000${key}`)) removed.push({ runId: run.runId, key });
    }
  }
  const byId = new Map(runs.map((r) => [r.runId, r]));
  for (const w of wanted) {
    const [runId, key] = w.split('\u0000');
    if (byId.get(runId)?.tags[key] !== 'true') set.push({ runId, key });
  }
  return { set, removed };
}

export async function applyTagChanges(tracker: Tracker, changes: TagChanges, concurrency = 4): Promise<void> {
  const limit = pLimit(concurrency);
  const bySetRun = new Map<string, Record<string, string>>();
  for (const c of changes.set) bySetRun.set(c.runId, { ...(bySetRun.get(c.runId) ?? {}), [c.key]: 'true' });
  await Promise.all([
    ...[...bySetRun].map(([runId, tags]) => limit(() => tracker.setTags(runId, tags))),
    ...changes.removed.map((c) => limit(() => tracker.deleteTag(c.runId, c.key))),
  ]);
  await tracker.flush();
}
