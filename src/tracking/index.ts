/**
 * `createTracker(uri?)`: design.md's tracking URI rule. `http(s)://…` → MLflow server over REST;
 * a path or `file:` URI → MLflow's file store; unset → $MLFLOW_TRACKING_URI, else `./mlruns`.
 */
import { FileStoreTracker } from './file-store.js';
import { MlflowRestTracker, type RestTrackerOptions } from './mlflow-rest.js';
import type { Tracker } from './types.js';

export { FileStoreTracker, fileStoreRoot } from './file-store.js';
export { MlflowRestTracker, MlflowApiError, TrackingUnavailableError, type RestTrackerOptions, type BatchStats } from './mlflow-rest.js';
export { gitCommit } from './git.js';
export { parseFilter } from './filter.js';
export * from './types.js';

export function createTracker(uri?: string, restOptions?: RestTrackerOptions): Tracker & { listExperiments(): Promise<{ experimentId: string; name: string }[]> } {
  const u = (uri ?? process.env.MLFLOW_TRACKING_URI ?? '').trim() || './mlruns';
  if (/^https?:\/\//i.test(u)) return new MlflowRestTracker(u, restOptions);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(u)?.[1]?.toLowerCase();
  // one-letter "schemes" are Windows drive letters
  if (scheme && scheme !== 'file' && scheme.length > 1) {
    throw new Error(`tracking URI ${JSON.stringify(u)}: ganstudy supports http(s):// (an MLflow server) and paths or file: URIs (MLflow's file store), not ${scheme}:`);
  }
  return new FileStoreTracker(u);
}
