/**
 * The tracking module: `openTracker(uri?)` (design.md's tracking URI rule, open.ts), the REST tracker, the local
 * MLflow server, and run-record.ts, which names everything a run holds.
 */
export {
  authHeaders,
  splitUserinfo,
  MlflowRestTracker,
  MlflowApiError,
  TrackingUnavailableError,
  type RestTrackerOptions,
  type BatchStats,
} from './mlflow-rest.js';
export {
  startMlflowServer,
  mlflowBinary,
  freePort,
  type MlflowServer,
  type StartServerOptions,
} from './mlflow-server.js';
export {
  openTracker,
  resolveTrackingUri,
  sqliteFileMissing,
  fileStoreRefusal,
  whereToLook,
  DEFAULT_TRACKING_URI,
  STORE_ENV,
  type OpenedTracker,
  type OpenTrackerOptions,
  type TrackingTarget,
} from './open.js';
export * from './run-record.js';
export { gitCommit } from './git.js';
export * from './types.js';
export { redactSecrets } from './redact.js';
export { journalRoot } from './journal.js';
