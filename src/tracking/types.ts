/**
 * The tracking contract. Two implementations: MLflow over REST (http(s) URIs) and MLflow's own file
 * store layout (a path or file: URI; `./mlruns` by default), so `mlflow ui` reads either.
 * Names of tags, params and metrics are fixed by shared/design.md ("What one run holds in MLflow").
 */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  /** ms since epoch */
  timestamp: number;
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  artifactUri: string;
}

export interface Run {
  info: RunInfo;
  params: Record<string, string>;
  /** latest value per metric key (as MLflow reports it) */
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

export interface Tracker {
  /** where this tracker writes: the URI as the user gave it, normalised */
  readonly uri: string;
  getOrCreateExperiment(name: string): Promise<string>;
  getExperimentByName(name: string): Promise<string | undefined>;
  createRun(experimentId: string, opts: { runName: string; tags?: Record<string, string>; startTime?: number }): Promise<RunInfo>;
  getRun(runId: string): Promise<Run>;
  /** all runs of the experiments (every page), optionally filtered with MLflow's filter syntax */
  searchRuns(experimentIds: string[], filter?: string): Promise<Run[]>;
  logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void>;
  /** buffered: a point with a (key, step) already logged for this run is dropped, so resumes never log a step twice */
  logMetrics(runId: string, points: MetricPoint[]): Promise<void>;
  setTags(runId: string, tags: Record<string, string>): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  getMetricHistory(runId: string, key: string): Promise<MetricPoint[]>;
  /** copy a local file into the run's artifacts, under `artifactPath` (a folder, '' for the root) */
  logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<void>;
  /** list / fetch artifacts (the report reads samples.png back) */
  listArtifacts(runId: string, path?: string): Promise<{ path: string; isDir: boolean; size?: number }[]>;
  downloadArtifact(runId: string, artifactPath: string, localPath: string): Promise<void>;
  setRunStatus(runId: string, status: RunStatus, endTime?: number): Promise<void>;
  /** push everything buffered; resolves once the store holds it (retries with backoff meanwhile) */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export const TAGS = {
  sweep: 'ganstudy.sweep',
  trialId: 'ganstudy.trial_id',
  model: 'ganstudy.model',
  dataset: 'ganstudy.dataset',
  gitCommit: 'mlflow.source.git.commit',
  runName: 'mlflow.runName',
  error: 'ganstudy.error',
  divergedAtStep: 'ganstudy.diverged_at_step',
  classifier: 'ganstudy.classifier',
  top10Prefix: 'ganstudy.top10.',
} as const;
