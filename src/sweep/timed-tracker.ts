/**
 * A Tracker that times another: every call is forwarded unchanged, and the time until it settles is added to its
 * method's total. A trial reports these totals (`perf/tracking_seconds`, the "tracker time by call" line) so a
 * slow tracking server shows up as tracker time, not as training time.
 */
import { performance } from 'node:perf_hooks';
import type { DatasetInput, MetricPoint, Run, RunInfo, RunStatus, Tracker } from '../tracking/types.js';

export type TrackerMethod = Exclude<keyof Tracker, 'uri'>;

export class TimedTracker implements Tracker {
  private readonly msByMethod = new Map<TrackerMethod, number>();

  constructor(private readonly inner: Tracker) {}

  get uri(): string {
    return this.inner.uri;
  }

  /** milliseconds spent in tracker calls so far */
  get totalMs(): number {
    let sum = 0;
    for (const ms of this.msByMethod.values()) sum += ms;
    return sum;
  }

  /** milliseconds per method, largest first */
  byMethod(): [TrackerMethod, number][] {
    return [...this.msByMethod.entries()].sort((a, b) => b[1] - a[1]);
  }

  /**
   * Starts a call without waiting for it and counts only the time to start it: the caller goes on (training)
   * while the call completes, so the rest of its duration is not time the caller spent blocked.
   */
  startInBackground<T>(method: TrackerMethod, call: (inner: Tracker) => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return call(this.inner);
    } finally {
      this.add(method, performance.now() - start);
    }
  }

  private add(method: TrackerMethod, ms: number): void {
    this.msByMethod.set(method, (this.msByMethod.get(method) ?? 0) + ms);
  }

  private async timed<T>(method: TrackerMethod, call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await call();
    } finally {
      this.add(method, performance.now() - start);
    }
  }

  getOrCreateExperiment(name: string): Promise<string> {
    return this.timed('getOrCreateExperiment', () => this.inner.getOrCreateExperiment(name));
  }
  getExperimentByName(name: string): Promise<string | undefined> {
    return this.timed('getExperimentByName', () => this.inner.getExperimentByName(name));
  }
  createRun(experimentId: string, opts: Parameters<Tracker['createRun']>[1]): Promise<RunInfo> {
    return this.timed('createRun', () => this.inner.createRun(experimentId, opts));
  }
  getRun(runId: string): Promise<Run> {
    return this.timed('getRun', () => this.inner.getRun(runId));
  }
  searchRuns(experimentIds: string[], filter?: string): Promise<Run[]> {
    return this.timed('searchRuns', () => this.inner.searchRuns(experimentIds, filter));
  }
  logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    return this.timed('logParams', () => this.inner.logParams(runId, params));
  }
  logMetrics(runId: string, points: MetricPoint[]): Promise<void> {
    return this.timed('logMetrics', () => this.inner.logMetrics(runId, points));
  }
  setTags(runId: string, tags: Record<string, string>): Promise<void> {
    return this.timed('setTags', () => this.inner.setTags(runId, tags));
  }
  deleteTag(runId: string, key: string): Promise<void> {
    return this.timed('deleteTag', () => this.inner.deleteTag(runId, key));
  }
  getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    return this.timed('getMetricHistory', () => this.inner.getMetricHistory(runId, key));
  }
  logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<void> {
    return this.timed('logArtifact', () => this.inner.logArtifact(runId, localPath, artifactPath));
  }
  listArtifacts(runId: string, path?: string): ReturnType<Tracker['listArtifacts']> {
    return this.timed('listArtifacts', () => this.inner.listArtifacts(runId, path));
  }
  downloadArtifact(runId: string, artifactPath: string, localPath: string): Promise<void> {
    return this.timed('downloadArtifact', () => this.inner.downloadArtifact(runId, artifactPath, localPath));
  }
  setRunStatus(runId: string, status: RunStatus, endTime?: number): Promise<void> {
    return this.timed('setRunStatus', () => this.inner.setRunStatus(runId, status, endTime));
  }
  listExperiments(): ReturnType<Tracker['listExperiments']> {
    return this.timed('listExperiments', () => this.inner.listExperiments());
  }
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    return this.timed('setExperimentTag', () => this.inner.setExperimentTag(experimentId, key, value));
  }
  getExperimentTags(experimentId: string): Promise<Record<string, string>> {
    return this.timed('getExperimentTags', () => this.inner.getExperimentTags(experimentId));
  }
  deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    return this.timed('deleteExperimentTag', () => this.inner.deleteExperimentTag(experimentId, key));
  }
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    return this.timed('logInputs', () => this.inner.logInputs(runId, datasets));
  }
  resumeRun(runId: string): Promise<void> {
    return this.timed('resumeRun', () => this.inner.resumeRun(runId));
  }
  flush(): Promise<void> {
    return this.timed('flush', () => this.inner.flush());
  }
  close(): Promise<void> {
    return this.timed('close', () => this.inner.close());
  }
}
