/**
 * Which experiments of a tracking store hold ganstudy sweeps (for `ganstudy plots` without --sweep).
 * The Tracker contract has no experiment listing; both backends that createTracker returns offer
 * `listExperiments()`, which is what this needs.
 */
import { TAGS, type Tracker } from '../tracking/types.js';

export interface ExperimentRef {
  experimentId: string;
  name: string;
}

export interface ExperimentLister {
  listExperiments(): Promise<ExperimentRef[]>;
}

/** Names of the experiments that hold at least one run tagged `ganstudy.sweep`, sorted. */
export async function discoverSweeps(tracker: Tracker & ExperimentLister): Promise<string[]> {
  const names: string[] = [];
  for (const e of await tracker.listExperiments()) {
    const runs = await tracker.searchRuns([e.experimentId]);
    if (runs.some((r) => r.tags[TAGS.sweep] !== undefined)) names.push(e.name);
  }
  return names.sort();
}
