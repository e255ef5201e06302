/**
 * Selection never sees the test split (issue 12.1): a tiny trial run in this process with native TensorFlow and
 * the real MLflow server logs val/<score> at every evaluation step, test/<score> once at the step validation
 * selected, best_* chosen on val/, and a fresh sample seed for the test; refine ranks settings by val/ only,
 * shown on runs planted in the MLflow server whose test/ scores disagree with their val/ scores.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { evaluateGenerator } from '../metrics/index.js';
import { rankingValue } from '../metrics/protocol.js';
import { loadDataset } from '../src/data/index.js';
import { buildIndependentCritic, createModel } from '../src/models/index.js';
import { defineSweep, parseSweepSpec, type SweepSpec } from '../src/sweep/define.js';
import { expandRefine, expandSweep, rankSettings, type Trial } from '../src/sweep/expand.js';
import { runTrial } from '../src/sweep/run-trial.js';
import { bestEvaluation, evaluationSeeds, selectionMetricFor } from '../src/sweep/trial/selection.js';
import { MlflowRestTracker } from '../src/tracking/index.js';
import type { MetricPoint, Tracker } from '../src/tracking/types.js';
import { TINY_EVAL } from './fixtures/sweeps/tiny.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-selection-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const byStep = (points: MetricPoint[]): [number, number][] =>
  points.map((p): [number, number] => [p.step, p.value]).sort((a, b) => a[0] - b[0]);

describe('selection helpers', () => {
  it('ranks MS-SSIM by closeness to the real data, others by their direction; earliest step on ties', () => {
    const evaluations = [
      { step: 4, scores: { ms_ssim: 0.05, ms_ssim_real: 0.2, fid: 30, inception_score: 2 } },
      { step: 8, scores: { ms_ssim: 0.22, ms_ssim_real: 0.2, fid: 10, inception_score: 3 } },
      { step: 12, scores: { ms_ssim: 0.5, ms_ssim_real: 0.2, fid: 10, inception_score: 1 } },
    ];
    // raw lowest MS-SSIM (step 4) is not the best: step 8 is closest to the real 0.2
    expect(bestEvaluation(evaluations, 'ms_ssim')).toMatchObject({ step: 8, value: 0.22 });
    expect(bestEvaluation(evaluations, 'ms_ssim')?.ranking).toBeCloseTo(0.02, 12);
    expect(bestEvaluation(evaluations, 'fid')).toMatchObject({ step: 8, value: 10 });
    expect(bestEvaluation(evaluations, 'inception_score')).toMatchObject({ step: 8, value: 3 });
    expect(bestEvaluation([{ step: 4, scores: { ms_ssim: 0.1 } }], 'ms_ssim')).toBeNull(); // no real reference
  });

  it('selects on the refine metric, else in the order inception_score, fid, critic_w, ms_ssim', () => {
    expect(selectionMetricFor(['ms_ssim', 'fid', 'critic_w'])).toBe('fid');
    expect(selectionMetricFor(['ms_ssim', 'critic_w'])).toBe('critic_w');
    expect(selectionMetricFor(['ms_ssim', 'inception_score'])).toBe('inception_score');
    expect(selectionMetricFor(['ms_ssim', 'inception_score'], 'ms_ssim')).toBe('ms_ssim');
  });

  it('derives distinct validation and test sample seeds from the trial seed', () => {
    for (const seed of [0, 1, 2, 7, 123456]) {
      const s = evaluationSeeds(seed);
      expect(s.val).not.toBe(s.test);
      expect(evaluationSeeds(seed)).toEqual(s);
    }
    expect(evaluationSeeds(1).val).not.toBe(evaluationSeeds(2).val);
  });
});

/**
 * A tiny DCGAN trial on the synthetic set: 12 steps, scored at 4, 8 and 12, checkpointed every 2 steps (the trainer
 * keeps the last two). Its learning rates are high enough that the critic's Ŵ on validation is lowest at step 8
 * (measured: 1.29, 0.51, 0.67), so the selected checkpoint is one the trainer has deleted by the end.
 */
function tinyTrial(name: string): Trial {
  const spec = defineSweep({
    name,
    models: ['dcgan'],
    datasets: ['synthetic'],
    budget: 'quick',
    hp: { batchSize: 16, widthMultiplier: 0.25, zDim: 16, lrG: 2e-2, lrD: 2e-2 },
    seeds: [1],
    metrics: ['ms_ssim', 'critic_w'],
    overrides: {
      steps: 12,
      checkpointEvery: 2,
      sampleEvery: 1_000_000,
      logEvery: 2,
      evalEvery: 4,
      eval: TINY_EVAL,
    },
    data: { synthetic: { resolution: 28, size: 400, seed: 3 } },
  });
  const [trial] = expandSweep(parseSweepSpec(spec));
  return trial;
}

/** The trial's metrics for the generator in `checkpointDir`, against `split`, critic trained on validation. */
async function rescore(trial: Trial, checkpointDir: string, split: 'validation' | 'test', sampleSeed: number) {
  const model = createModel({ model: trial.model, arch: trial.arch, hp: trial.hp, seed: trial.seed });
  try {
    await model.load(checkpointDir);
    const dataset = await loadDataset(trial.datasetSpec);
    return await evaluateGenerator({
      sample: (n, seed) => model.sample(n, seed),
      reference: dataset[split],
      criticTrain: dataset.validation,
      protocol: trial.eval,
      metrics: trial.metrics,
      sampleSeed,
      cacheDir: path.join(scratch, 'cache'),
      buildCritic: buildIndependentCritic,
    });
  } finally {
    model.dispose();
  }
}

describe('a trial selects on validation and scores the selection once on test (real MLflow server)', () => {
  const uri = inject('mlflowUri');
  const name = `selection-${process.pid}`;
  const runsDir = () => path.join(scratch, 'runs');
  const lines: string[] = [];
  const options = (tracker: Tracker, experimentId: string) => ({
    tracker,
    experimentId,
    runsDir: runsDir(),
    cacheDir: path.join(scratch, 'cache'),
    log: (line: string) => lines.push(line),
  });

  it('val/* at every evaluation step, test/* once at the selected step, best_* on val/, a fresh test seed', async () => {
    const trial = tinyTrial(name);
    expect(trial.selectionMetric).toBe('critic_w');
    const tracker = new MlflowRestTracker(uri);
    try {
      const experimentId = await tracker.getOrCreateExperiment(name);
      const outcome = await runTrial(trial, options(tracker, experimentId));
      expect(outcome.status, lines.join('\n')).toBe('finished');
      const run = await tracker.getRun(outcome.runId);
      const history = (key: string) => tracker.getMetricHistory(outcome.runId, key);

      // validation: every evaluation step, scores and references
      const val: Record<string, [number, number][]> = {};
      for (const m of ['ms_ssim', 'ms_ssim_real', 'critic_w', 'critic_w_train', 'critic_w_real']) {
        val[m] = byStep(await history(`val/${m}`));
        expect(
          val[m].map(([s]) => s),
          `val/${m}`,
        ).toEqual([4, 8, 12]);
      }
      // the same validation draws at every step: the real reference does not move
      expect(new Set(val.ms_ssim_real.map(([, v]) => v)).size).toBe(1);

      // best_* on val/, each metric on its own ranking (MS-SSIM: closest to the real data's)
      const best = (m: string) => {
        const steps = val[m].map(([step, v]) => ({ step, scores: { [m]: v, ms_ssim_real: val.ms_ssim_real[0][1] } }));
        return bestEvaluation(steps, m)!;
      };
      for (const m of ['ms_ssim', 'critic_w']) {
        expect(run.metrics[`best_${m}`], `best_${m}`).toBe(best(m).value);
        expect(run.metrics[`best_${m}_step`], `best_${m}_step`).toBe(best(m).step);
      }
      const closest = Math.min(...val.ms_ssim.map(([, v]) => Math.abs(v - val.ms_ssim_real[0][1])));
      expect(rankingValue('ms_ssim', { ms_ssim: run.metrics.best_ms_ssim, ms_ssim_real: val.ms_ssim_real[0][1] })).toBe(
        closest,
      );

      // test: once, at the step selected by val/critic_w, with its own references
      const selected = best('critic_w').step;
      expect(run.tags['ganstudy.selected_step']).toBe(String(selected));
      expect(run.tags['ganstudy.selection_metric']).toBe('critic_w');
      for (const m of ['ms_ssim', 'ms_ssim_real', 'critic_w', 'critic_w_train']) {
        expect(
          (await history(`test/${m}`)).map((p) => p.step),
          `test/${m}`,
        ).toEqual([selected]);
      }
      // the critic trains on validation in both evaluations but is scored on a different split with other samples
      const testCritic = (await history('test/critic_w'))[0].value;
      expect(testCritic).not.toBe(val.critic_w.find(([s]) => s === selected)![1]);

      // a fresh sample seed for the test, derived from the trial seed
      const dir = path.join(runsDir(), name, trial.trialId);
      const seeds = evaluationSeeds(trial.seed);
      expect(run.tags['ganstudy.val_sample_seed']).toBe(String(seeds.val));
      expect(run.tags['ganstudy.test_sample_seed']).toBe(String(seeds.test));
      expect(seeds.test).not.toBe(seeds.val);
      // recomputed here from the kept checkpoint: the test scores are the selected generator's on the test split
      // with the test seed (and not what the validation seed would give); tolerance: bit-for-bit on this machine
      const again = async (split: 'validation' | 'test', sampleSeed: number) =>
        (await rescore(trial, path.join(dir, 'selected', 'checkpoint'), split, sampleSeed)).scores;
      const onTest = await again('test', seeds.test);
      for (const m of ['ms_ssim', 'ms_ssim_real', 'critic_w', 'critic_w_train']) {
        expect((await history(`test/${m}`))[0].value, `test/${m}`).toBeCloseTo(onTest[m], 6);
      }
      const withValSeed = await again('test', seeds.val);
      expect(withValSeed.ms_ssim).not.toBeCloseTo(onTest.ms_ssim, 6);
      const onVal = await again('validation', seeds.val);
      expect(val.ms_ssim.find(([st]) => st === selected)![1]).toBeCloseTo(onVal.ms_ssim, 6);
      expect(val.ms_ssim_real[0][1]).toBeCloseTo(onVal.ms_ssim_real, 6);
      expect(onTest.ms_ssim_real).not.toBeCloseTo(onVal.ms_ssim_real, 6);

      // the selected checkpoint was kept, and samples.png is drawn from it (the trainer drew the same grid then)
      expect(selected, 'the fixture is meant to select a step before the last').toBeLessThan(trial.steps);
      expect(existsSync(path.join(dir, 'checkpoints', `step-${selected}`))).toBe(false);
      const kept = JSON.parse(await readFile(path.join(dir, 'selected', 'selected.json'), 'utf8')) as { step: number };
      expect(kept.step).toBe(selected);
      expect(existsSync(path.join(dir, 'selected', 'checkpoint', 'trainer-state.json'))).toBe(true);
      const grid = await readFile(path.join(dir, 'samples.png'));
      expect(grid.equals(await readFile(path.join(dir, 'samples', `step-${selected}.png`)))).toBe(true);
      const artifacts = (await tracker.listArtifacts(outcome.runId)).map((a) => a.path);
      expect(artifacts).toEqual(expect.arrayContaining(['samples.png', 'checkpoint']));
      expect(artifacts).toContain('selected_checkpoint');
      const finalGrid = await readFile(path.join(dir, 'samples', `step-${trial.steps}.png`));
      expect(grid.equals(finalGrid)).toBe(false);
    } finally {
      await tracker.close();
    }
  });

  it('the selection survives an interruption: resumed, the trial still tests the checkpoint chosen before', async () => {
    const other = `${name}-resumed`;
    const trial = tinyTrial(other);
    const tracker = new MlflowRestTracker(uri);
    try {
      const experimentId = await tracker.getOrCreateExperiment(other);
      // stop once step 8 is scored: the trial checkpoints and ends KILLED before training on
      const stop = new AbortController();
      let evaluations = 0;
      const first = await runTrial(trial, {
        ...options(tracker, experimentId),
        signal: stop.signal,
        onPhase: (phase) => {
          if (phase === 'train' && ++evaluations === 2) stop.abort();
        },
      });
      expect(first.status, lines.join('\n')).toBe('interrupted');
      const dir = path.join(runsDir(), other, trial.trialId);
      const kept = JSON.parse(await readFile(path.join(dir, 'selected', 'selected.json'), 'utf8')) as { step: number };
      expect(kept.step).toBe(8);
      expect(await tracker.getMetricHistory(first.runId, 'test/critic_w')).toEqual([]);

      const second = await runTrial(trial, options(tracker, experimentId));
      expect(second.status, lines.join('\n')).toBe('finished');
      expect(second.runId).toBe(first.runId);
      const run = await tracker.getRun(second.runId);
      // each step scored once on validation across the two processes; the step-8 checkpoint is gone from
      // checkpoints/ but was kept, and it is the one scored on test
      expect(byStep(await tracker.getMetricHistory(run.info.runId, 'val/critic_w')).map(([st]) => st)).toEqual([
        4, 8, 12,
      ]);
      expect(run.metrics.best_critic_w_step).toBe(8);
      expect(run.tags['ganstudy.selected_step']).toBe('8');
      expect(existsSync(path.join(dir, 'checkpoints', 'step-8'))).toBe(false);
      const test = await tracker.getMetricHistory(run.info.runId, 'test/critic_w');
      expect(test.map((p) => p.step)).toEqual([8]);
      const rescored = await rescore(
        trial,
        path.join(dir, 'selected', 'checkpoint'),
        'test',
        evaluationSeeds(trial.seed).test,
      );
      expect(test[0].value).toBeCloseTo(rescored.scores.critic_w, 6);
    } finally {
      await tracker.close();
    }
  });

  it('a trial resumed after its test scores were logged scores nothing again', async () => {
    const trial = tinyTrial(name);
    const tracker = new MlflowRestTracker(uri);
    try {
      const experimentId = await tracker.getOrCreateExperiment(name);
      const [before] = await tracker.searchRuns([experimentId]);
      const testBefore = byStep(await tracker.getMetricHistory(before.info.runId, 'test/critic_w'));
      const valBefore = byStep(await tracker.getMetricHistory(before.info.runId, 'val/critic_w'));
      // as if the process died after the test evaluation, before the run was marked FINISHED
      await tracker.setRunStatus(before.info.runId, 'KILLED', Date.now());
      lines.length = 0;
      const outcome = await runTrial(trial, options(tracker, experimentId));
      expect(outcome.status, lines.join('\n')).toBe('finished');
      expect(outcome.runId).toBe(before.info.runId);
      expect(lines.join('\n')).toMatch(/test scores of step \d+ already logged: not scoring again/);
      expect(lines.some((l) => / (val|test) eval: /.test(l))).toBe(false);
      expect(byStep(await tracker.getMetricHistory(before.info.runId, 'test/critic_w'))).toEqual(testBefore);
      expect(byStep(await tracker.getMetricHistory(before.info.runId, 'val/critic_w'))).toEqual(valBefore);
      expect((await tracker.getRun(before.info.runId)).info.status).toBe('FINISHED');
    } finally {
      await tracker.close();
    }
  });
});

describe('refine ranks settings by validation scores only (runs planted in the MLflow server)', () => {
  const uri = inject('mlflowUri');

  it('follows val/ (mean over seeds, MS-SSIM by closeness to real) when test/ says the opposite', async () => {
    const spec: SweepSpec = parseSweepSpec({
      name: `refine-val-${process.pid}`,
      models: ['dcgan'],
      datasets: ['synthetic'],
      budget: 'quick',
      hp: { lrG: [1e-4, 2e-4, 3e-4] },
      seeds: [1, 2],
      metrics: ['ms_ssim', 'fid'],
      data: { synthetic: { resolution: 28 } },
      refine: { topK: 1, seeds: [9], metric: 'ms_ssim' },
    });
    const phase1 = expandSweep(spec);
    expect(phase1.every((t) => t.selectionMetric === 'ms_ssim')).toBe(true);
    // validation MS-SSIM per setting (seed 1, seed 2); the real data's is 0.3 on validation.
    // |v − 0.3| means: 1e-4 → 0.20 (raw lowest, but far from real), 2e-4 → 0.02 (best), 3e-4 → 0.10
    const val: Record<number, [number, number]> = { 1e-4: [0.1, 0.1], 2e-4: [0.31, 0.27], 3e-4: [0.4, 0.4] };
    // test/ reverses the order: 1e-4 closest to the test reference, 2e-4 farthest
    const test: Record<number, number> = { 1e-4: 0.3, 2e-4: 0.9, 3e-4: 0.5 };
    const tracker = new MlflowRestTracker(uri);
    try {
      const experimentId = await tracker.getOrCreateExperiment(spec.name);
      for (const t of phase1) {
        const info = await tracker.createRun(experimentId, {
          runName: t.runName,
          tags: { 'ganstudy.trial_id': t.trialId },
        });
        const v = val[t.hp.lrG][t.seed - 1];
        const now = Date.now();
        const points: MetricPoint[] = [
          { key: 'val/ms_ssim', value: v, step: 10, timestamp: now },
          { key: 'val/ms_ssim_real', value: 0.3, step: 10, timestamp: now },
          { key: 'best_ms_ssim', value: v, step: 10, timestamp: now },
          { key: 'best_ms_ssim_step', value: 10, step: 10, timestamp: now },
          { key: 'test/ms_ssim', value: test[t.hp.lrG], step: 10, timestamp: now },
          { key: 'test/ms_ssim_real', value: 0.3, step: 10, timestamp: now },
          { key: 'val/fid', value: t.hp.lrG * 1e5, step: 10, timestamp: now },
          { key: 'test/fid', value: 100 - t.hp.lrG * 1e5, step: 10, timestamp: now },
        ];
        await tracker.logMetrics(info.runId, points);
        await tracker.setRunStatus(info.runId, 'FINISHED', now);
      }
      await tracker.flush();
      const runs = await tracker.searchRuns([experimentId]);
      expect(runs).toHaveLength(6);

      const ranked = rankSettings(phase1, runs, 'ms_ssim');
      expect(ranked.map((r) => r.example.hp.lrG)).toEqual([2e-4, 3e-4, 1e-4]);
      expect(ranked.map((r) => r.score)).toEqual([0.02, 0.1, 0.2].map((x) => expect.closeTo(x, 12)));
      const refine = expandRefine(spec, phase1, runs);
      expect(refine.map((t) => [t.hp.lrG, t.seed])).toEqual([[2e-4, 9]]);
      // lower-is-better FID on val/: 1e-4 first, although test/fid says 3e-4
      expect(rankSettings(phase1, runs, 'fid').map((r) => r.example.hp.lrG)).toEqual([1e-4, 2e-4, 3e-4]);

      // a run holding only test/ scores is not ranked at all
      const testOnly = runs.map((r) => ({
        ...r,
        metrics: Object.fromEntries(Object.entries(r.metrics).filter(([k]) => k.startsWith('test/'))),
      }));
      expect(rankSettings(phase1, testOnly, 'ms_ssim')).toEqual([]);
    } finally {
      await tracker.close();
    }
  });
});
