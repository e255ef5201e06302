/**
 * The bookkeeping of a trial (as compare_gan's TaskManager is kept apart from the loop that trains): everything a
 * trial writes to the tracker after its run is open — training curves and counters, val/ and test/ scores, best_*,
 * artifacts, and the run's final status with its timings. The work (work.ts) never sees the tracker.
 */
import path from 'node:path';
import type { EvalReport } from '../../../metrics/index.js';
import type { UpdateCounts } from '../../train/counters.js';
import type { TrainEvent } from '../../train/types.js';
import { METRIC_KEYS, TAGS } from '../../tracking/run-record.js';
import type { MetricPoint, RunStatus } from '../../tracking/types.js';
import type { Trial } from '../expand.js';
import type { TimedTracker } from '../timed-tracker.js';
import { bestPerMetric, type EvaluationSeeds } from './selection.js';
import type { Evaluation, TrialTiming } from './types.js';

export const RESUMED_FROM_TAG = 'ganstudy.resumed_from_step';

/** The trainer's counters as metrics (shared/design.md: train/<name> with their step). */
export const COUNTER_METRICS: Record<keyof UpdateCounts, string> = {
  generatorUpdates: 'train/generator_updates',
  discriminatorUpdates: 'train/discriminator_updates',
  examplesSeen: 'train/examples_seen',
};

type ProgressEvent = Extract<TrainEvent, { type: 'progress' }>;
type FinalStatus = Extract<RunStatus, 'FINISHED' | 'FAILED' | 'KILLED'>;

function finitePoints(prefix: string, values: Record<string, number>, step: number, timestamp: number): MetricPoint[] {
  return Object.entries(values)
    .filter(([, v]) => Number.isFinite(v))
    .map(([k, v]) => ({ key: `${prefix}${k}`, value: v, step, timestamp }));
}

/** One training-progress event as metric points: mean losses, throughput and the work counters at its step. */
export function progressPoints(event: ProgressEvent, timestamp: number): MetricPoint[] {
  const { step } = event;
  const points = finitePoints(METRIC_KEYS.train(''), event.losses, step, timestamp);
  points.push({ key: METRIC_KEYS.perf('steps_per_sec'), value: event.stepsPerSec, step, timestamp });
  for (const [field, key] of Object.entries(COUNTER_METRICS) as [keyof UpdateCounts, string][]) {
    points.push({ key, value: event.counts[field], step, timestamp });
  }
  return points.filter((p) => Number.isFinite(p.value));
}

/**
 * best_<metric> and best_<metric>_step over the validation evaluations, each metric chosen on its own by its
 * ranking (metrics' rankingValue: MS-SSIM closest to the real data's); best_<metric> holds the raw score at that step.
 */
export function bestScores(evaluations: readonly Evaluation[], step: number, timestamp: number): MetricPoint[] {
  return bestPerMetric(evaluations).flatMap((b) => [
    { key: METRIC_KEYS.best(b.metric), value: b.value, step, timestamp },
    { key: METRIC_KEYS.bestStep(b.metric), value: b.step, step, timestamp },
  ]);
}

function perfPoints(t: TrialTiming, step: number, timestamp: number): MetricPoint[] {
  const values: Record<string, number> = {
    [METRIC_KEYS.perf('trial_seconds')]: t.trialSec,
    [METRIC_KEYS.perf('train_seconds')]: t.trainSec,
    [METRIC_KEYS.perf('eval_seconds')]: t.evalSec,
    [METRIC_KEYS.perf('tracking_seconds')]: t.trackingSec,
    [METRIC_KEYS.perf('cpu_seconds')]: t.cpuSec,
    [METRIC_KEYS.perf('tracking_share')]: t.trialSec > 0 ? t.trackingSec / t.trialSec : 0,
  };
  return Object.entries(values).map(([key, value]) => ({ key, value, step, timestamp }));
}

export class TrialRecorder {
  /** calls started from synchronous training events; the tracker buffers them and the trial waits at the end */
  private readonly pending: Promise<unknown>[] = [];

  constructor(
    private readonly tracker: TimedTracker,
    readonly runId: string,
    private readonly trial: Trial,
    private readonly log: (line: string) => void,
  ) {}

  async resumedFrom(step: number): Promise<void> {
    await this.tracker.setTags(this.runId, { [RESUMED_FROM_TAG]: String(step) });
  }

  /** Called from inside the training loop: starts the write and returns at once. */
  progress(event: ProgressEvent): void {
    const points = progressPoints(event, Date.now());
    const write = this.tracker.startInBackground('logMetrics', (t) => t.logMetrics(this.runId, points));
    this.pending.push(
      write.catch((e: unknown) => this.log(`[tracking] ${e instanceof Error ? e.message : String(e)}`)),
    );
  }

  /** The evaluation's seeds, noted once: the test evaluation draws fresh samples (a seed of its own). */
  /** A warning about the trial's protocol, on the run (tag `ganstudy.warning`) and in the log. */
  async warn(message: string): Promise<void> {
    this.log(`[trial ${this.trial.index}] warning: ${message}`);
    await this.tracker.setTags(this.runId, { [TAGS.warning]: message });
  }

  async evaluationSeeds(seeds: EvaluationSeeds): Promise<void> {
    await this.tracker.setTags(this.runId, {
      [TAGS.valSampleSeed]: String(seeds.val),
      [TAGS.testSampleSeed]: String(seeds.test),
    });
  }

  /**
   * Validation scores at `step` as val/<score> (references as val/<metric>_real); at the last step also the
   * independent critic's curve and evaluation time per metric.
   */
  async evaluation(step: number, report: EvalReport): Promise<void> {
    const now = Date.now();
    const points = finitePoints(METRIC_KEYS.val(''), report.scores, step, now);
    if (step === this.trial.steps) {
      points.push(
        ...report.criticCurve.map((c) => ({ key: 'critic/loss', value: c.loss, step: c.step, timestamp: now })),
      );
      points.push(...finitePoints(METRIC_KEYS.perf('eval_'), suffixed(report.timings, '_seconds'), step, now));
    }
    await this.tracker.logMetrics(this.runId, points);
    if (report.classifier) await this.tracker.setTags(this.runId, { [TAGS.classifier]: report.classifier });
  }

  /** Whether the run already holds the test scores (a trial resumed after logging them must not score again). */
  async hasTestScores(): Promise<boolean> {
    const run = await this.tracker.getRun(this.runId);
    return Object.keys(run.metrics).some((k) => k.startsWith(METRIC_KEYS.test('')));
  }

  /**
   * The held-out scores of the selected checkpoint as test/<score> at the selected step, its evaluation time per
   * metric (perf/test_eval_<metric>_seconds), and the selection tags.
   */
  async testEvaluation(selection: { step: number; metric: string }, report: EvalReport): Promise<void> {
    const now = Date.now();
    const points = finitePoints(METRIC_KEYS.test(''), report.scores, selection.step, now);
    points.push(
      ...finitePoints(METRIC_KEYS.perf('test_eval_'), suffixed(report.timings, '_seconds'), this.trial.steps, now),
    );
    await this.tracker.logMetrics(this.runId, points);
    await this.selection(selection);
  }

  /** tags naming the selected step and the metric that selected it */
  async selection(selection: { step: number; metric: string }): Promise<void> {
    await this.tracker.setTags(this.runId, {
      [TAGS.selectedStep]: String(selection.step),
      [TAGS.selectionMetric]: selection.metric,
    });
  }

  /** best_* and best_*_step over the validation evaluations (chosen on val/ only) */
  async best(evaluations: readonly Evaluation[]): Promise<void> {
    await this.tracker.logMetrics(this.runId, bestScores(evaluations, this.trial.steps, Date.now()));
  }

  /** samples.png at the root; each checkpoint's files under its artifact folder (checkpoint/, selected_checkpoint/) */
  async artifacts(
    gridPath: string,
    checkpoints: { artifactDir: string; dir: string; files: string[] }[],
  ): Promise<void> {
    await this.tracker.logArtifact(this.runId, gridPath, '');
    for (const checkpoint of checkpoints) {
      for (const file of checkpoint.files) {
        const rel = path.relative(checkpoint.dir, path.dirname(file));
        const artifactDir = path.posix.join(checkpoint.artifactDir, ...rel.split(path.sep).filter(Boolean));
        await this.tracker.logArtifact(this.runId, file, artifactDir);
      }
    }
  }

  /**
   * Ends the run: waits for the background writes, logs perf/* (FINISHED runs), sets the tags that explain the
   * end, the status, and flushes the tracker.
   */
  async finish(status: FinalStatus, tags: Record<string, string>, timing: () => TrialTiming): Promise<void> {
    await Promise.allSettled(this.pending);
    this.pending.length = 0;
    if (status === 'FINISHED')
      await this.tracker.logMetrics(this.runId, perfPoints(timing(), this.trial.steps, Date.now()));
    if (Object.keys(tags).length > 0) await this.tracker.setTags(this.runId, tags);
    await this.tracker.setRunStatus(this.runId, status, Date.now());
    await this.tracker.flush();
  }
}

function suffixed(values: Record<string, number>, suffix: string): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${k}${suffix}`, v]));
}
