/**
 * The tracking contract, implemented by MLflow over REST (mlflow-rest.ts) against the user's server or a local
 * one that open.ts starts for a database URI. The names of a run's params, metrics and tags live in run-record.ts
 * (shared/design.md, "What one run holds in MLflow").
 */
import { z } from 'zod';

export const RunStatusSchema = z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** an MLflow dataset (REST `runs/log-inputs`); schema and profile are JSON strings as MLflow stores them */
export interface DatasetInput {
  name: string;
  digest: string;
  /** MLflow's dataset source types: 'local', 'code', 'http', … */
  sourceType: string;
  /** JSON of the source (`{"uri": …}` for 'local') */
  source: string;
  schema?: string;
  profile?: string;
  /** input tags; `mlflow.data.context` says the split's role (training, validation, test) */
  tags: Record<string, string>;
}

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
  createRun(
    experimentId: string,
    opts: { runName: string; tags?: Record<string, string>; startTime?: number },
  ): Promise<RunInfo>;
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
  /** experiments that are not deleted */
  listExperiments(): Promise<{ experimentId: string; name: string }[]>;
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void>;
  getExperimentTags(experimentId: string): Promise<Record<string, string>>;
  /** deleting a tag the experiment does not have is a no-op */
  deleteExperimentTag(experimentId: string, key: string): Promise<void>;
  /** the datasets a run trained and was scored on (MLflow de-duplicates by name and digest) */
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void>;
  /** read the run's logged (key, step) pairs now, so a resumed run never logs a step twice */
  resumeRun(runId: string): Promise<void>;
  /** push everything buffered; resolves once the store holds it (retries with backoff meanwhile) */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** declared in run-record.ts, the one module that names what a run holds; re-exported for existing imports */
export { TAGS } from './run-record.js';
