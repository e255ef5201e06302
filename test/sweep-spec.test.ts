/**
 * Sweep files without training: the schema and its messages, expansion counts, determinism and trial identity,
 * flat params, run names, refine ranking, thread splitting, and the CLI's refusal of a bad sweep file.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { SCORE_DIRECTIONS } from '../metrics/protocol.js';
import { choice, defineSweep, logUniform, parseSweepSpec, uniform, type SweepSpec } from '../src/sweep/define.js';
import { expandRefine, expandSweep, rankSettings, TrialPhaseSchema, type Trial } from '../src/sweep/expand.js';
import { runParams as trialParams } from '../src/tracking/run-record.js';
import { threadsPerTrial } from '../src/sweep/threads.js';
import { TimedTracker } from '../src/sweep/timed-tracker.js';
import { MlflowRestTracker } from '../src/tracking/index.js';
import { canonicalJson, trialId } from '../src/sweep/trial-id.js';
import type { Run } from '../src/tracking/types.js';

const exec = promisify(execFile);
const tsx = 'node_modules/.bin/tsx';

const base: SweepSpec = defineSweep({
  name: 'unit',
  models: ['dcgan'],
  datasets: ['synthetic'],
  budget: 'quick',
  seeds: [1],
  metrics: ['fid'],
  data: { synthetic: { resolution: 28 } },
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('sweep schema', () => {
  it('names the path of a bad model, with the allowed values and what it got', () => {
    const msg = errorOf(() => parseSweepSpec({ ...base, models: ['dcgan', 'gan'] }, 'sweeps/foo.ts'));
    expect(msg).toBe('sweeps/foo.ts: models[1]: expected one of dcgan|wgan-gp|age|alpha-gan, got "gan"');
  });

  it('names nested hyperparameter fields, unknown keys and bad distributions', () => {
    const msg = errorOf(() =>
      parseSweepSpec(
        {
          ...base,
          hp: { lrG: [1e-4, 'x'], lrD: logUniform(0, 1e-3), betaa: 0.5 },
          perModel: { dcgan: { nG: uniform(1, 3) } },
          overrides: { eval: { criticSteps: -1 } },
        },
        'sweeps/foo.ts',
      ),
    );
    const lines = msg.split('\n');
    expect(lines).toContain('sweeps/foo.ts: hp.lrG[1]: expected number, got "x"');
    expect(lines).toContain('sweeps/foo.ts: hp.lrD.low: expected a number > 0');
    expect(lines).toContain('sweeps/foo.ts: hp.betaa: unknown field (check the spelling; see src/sweep/define.ts)');
    expect(lines).toContain(
      'sweeps/foo.ts: perModel.dcgan.nG: uniform(a, b) draws fractional values; this hyperparameter takes a value, a list (grid) or choice([...])',
    );
    expect(lines.some((l) => l.startsWith('sweeps/foo.ts: overrides.eval.criticSteps: '))).toBe(true);
  });

  it('checks cross-field rules: refine metric must be computed, perModel only for listed models', () => {
    const msg = errorOf(() =>
      parseSweepSpec(
        { ...base, refine: { topK: 2, seeds: [5], metric: 'inception_score' }, perModel: { age: { lrG: 1e-4 } } },
        'unit',
      ),
    );
    expect(msg).toContain('unit: refine.metric: ranks by "inception_score", which is not in metrics [fid]');
    expect(msg).toContain('unit: perModel.age: space for "age", which is not in models [dcgan]');
  });

  it('checks the training length: a known unit, a positive whole amount, not both steps and trainFor', () => {
    const bad = errorOf(() =>
      parseSweepSpec({ ...base, overrides: { trainFor: { unit: 'epochs', amount: 1.5 } } }, 'sweeps/foo.ts'),
    ).split('\n');
    expect(bad).toContain(
      'sweeps/foo.ts: overrides.trainFor.unit: expected one of generator_updates|examples_seen|steps, got "epochs"',
    );
    expect(bad.some((l) => l.startsWith('sweeps/foo.ts: overrides.trainFor.amount: '))).toBe(true);
    const both = errorOf(() =>
      parseSweepSpec({ ...base, overrides: { steps: 10, trainFor: { unit: 'steps', amount: 10 } } }, 'unit'),
    );
    expect(both).toContain('unit: overrides.trainFor: give either overrides.steps or overrides.trainFor, not both');
    expect(errorOf(() => parseSweepSpec({ ...base, budget: 'huge' }, 'unit'))).toBe(
      'unit: budget: expected one of paper|quick|cpu, got "huge"',
    );
  });

  it('accepts every value form', () => {
    const spec = parseSweepSpec({
      ...base,
      hp: {
        lrG: logUniform(1e-4, 1e-3),
        lrD: [1e-4, 2e-4],
        beta1: uniform(0, 0.9),
        nG: choice([1, 2]),
        ageKlForm: 'code',
        batchSize: 16,
      },
      samples: 3,
      refine: { topK: 1, seeds: [7, 8], metric: 'fid' },
    });
    expect(spec.samples).toBe(3);
  });

  it('`ganstudy sweep` refuses a bad sweep file with exit code 2 and the field path', async () => {
    const err = await exec(tsx, ['src/cli/main.ts', 'sweep', 'test/fixtures/sweeps/bad-model.ts', '--dry-run']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe(2);
    expect(err!.stderr).toContain(
      'test/fixtures/sweeps/bad-model.ts: models[1]: expected one of dcgan|wgan-gp|age|alpha-gan, got "gan"',
    );
    const noDefault = await exec(tsx, [
      'src/cli/main.ts',
      'trial',
      'test/fixtures/sweeps/no-default.ts',
      '--index',
      '0',
    ]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(noDefault!.code).toBe(2);
    expect(noDefault!.stderr).toContain('no default export');
  });

  it('`ganstudy trial` takes its index from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) and checks its range', async () => {
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-trial-index-'));
    try {
      const err = await exec(tsx, ['src/cli/main.ts', 'trial', 'test/fixtures/sweeps/tiny.ts'], {
        env: {
          ...process.env,
          JOB_COMPLETION_INDEX: '5',
          MLFLOW_TRACKING_URI: `sqlite:///${path.join(scratch, 'mlflow.db')}`,
          TINY_NAME: 'index-check',
        },
      }).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err!.code).toBe(2);
      expect(err!.stderr).toContain(
        'test/fixtures/sweeps/tiny.ts: --index 5: out of range; the grid phase has 1 trial(s) (0..0)',
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe('trial identity', () => {
  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
    expect(trialId({ b: 1, a: { y: 2, x: 1 } })).toBe(trialId({ a: { x: 1, y: 2 }, b: 1 }));
    expect(trialId({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
    expect(() => trialId({ lr: Number.NaN })).toThrow(/lr/);
  });

  it('is the first 16 hex digits of SHA-256 of the canonical JSON (independent computation)', async () => {
    const { createHash } = await import('node:crypto');
    const config = { seed: 3, hp: { lrG: 2e-4, beta1: 0.5 }, model: 'dcgan' };
    const expected = createHash('sha256')
      .update('{"hp":{"beta1":0.5,"lrG":0.0002},"model":"dcgan","seed":3}')
      .digest('hex')
      .slice(0, 16);
    expect(trialId(config)).toBe(expected);
  });

  it('changes when any field of the resolved trial changes, seed included', () => {
    const [t] = expandSweep(base);
    const config = {
      model: t.model,
      dataset: t.dataset,
      arch: t.arch,
      hp: t.hp,
      steps: t.steps,
      eval: t.eval,
      metrics: t.metrics,
      seed: t.seed,
      data: t.data,
    };
    expect(trialId(config)).toBe(t.trialId);
    const leaves: string[][] = [];
    const walk = (v: unknown, p: string[]): void => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v))
        for (const [k, c] of Object.entries(v)) walk(c, [...p, k]);
      else leaves.push(p);
    };
    walk(config, []);
    expect(leaves.length).toBeGreaterThan(20);
    const seen = new Set([t.trialId]);
    for (const leaf of leaves) {
      const copy = structuredClone(config) as Record<string, unknown>;
      let obj = copy;
      for (const k of leaf.slice(0, -1)) obj = obj[k] as Record<string, unknown>;
      const key = leaf[leaf.length - 1];
      const v = obj[key];
      obj[key] = typeof v === 'number' ? v + 1 : Array.isArray(v) ? [...v, 'extra'] : `${String(v)}-changed`;
      const id = trialId(copy);
      expect(seen.has(id), `changing ${leaf.join('.')} must change the id`).toBe(false);
      seen.add(id);
    }
  });
});

describe('expansion', () => {
  it('grid × seeds per model and dataset, in a fixed order', () => {
    const spec = parseSweepSpec({
      ...base,
      models: ['dcgan', 'alpha-gan'],
      hp: { lrG: [1e-4, 2e-4], beta1: [0.5, 0.9, 0.0] },
      perModel: { 'alpha-gan': { reconLambda: [1, 10] } },
      seeds: [1, 2],
    });
    const trials = expandSweep(spec);
    expect(trials.filter((t) => t.model === 'dcgan')).toHaveLength(2 * 3 * 2);
    expect(trials.filter((t) => t.model === 'alpha-gan')).toHaveLength(2 * 3 * 2 * 2);
    expect(trials.map((t) => t.index)).toEqual(trials.map((_, i) => i));
    expect(new Set(trials.map((t) => t.trialId)).size).toBe(trials.length);
    // seeds of one setting share the setting id
    expect(trials[0].settingId).toBe(trials[1].settingId);
    expect(trials[0].seed).toBe(1);
    expect(trials[1].seed).toBe(2);
    const a = trials.find(
      (t) =>
        t.model === 'alpha-gan' && t.hp.lrG === 2e-4 && t.hp.reconLambda === 10 && t.seed === 1 && t.hp.beta1 === 0.5,
    )!;
    expect(a.runName).toBe('alpha-gan/synthetic/lr_g=2e-4,beta1=0.5,recon_lambda=10,seed=1');
  });

  it('random search draws `samples` points per grid point, deterministically, within the ranges', () => {
    const spec = parseSweepSpec({
      ...base,
      hp: { lrG: logUniform(1e-5, 1e-3), beta1: uniform(0.1, 0.9), nG: choice([1, 2, 5]), batchSize: [16, 32] },
      samples: 10,
      seeds: [1, 2, 3],
      searchSeed: 4,
    });
    const trials = expandSweep(spec);
    expect(trials).toHaveLength(2 * 10 * 3);
    for (const t of trials) {
      expect(t.hp.lrG).toBeGreaterThanOrEqual(1e-5);
      expect(t.hp.lrG).toBeLessThan(1e-3);
      expect(t.hp.beta1).toBeGreaterThanOrEqual(0.1);
      expect(t.hp.beta1).toBeLessThan(0.9);
      expect([1, 2, 5]).toContain(t.hp.nG);
    }
    // log-uniform: about half the draws below the geometric middle 1e-4 (20 independent draws)
    const lows = new Set(trials.filter((t) => t.hp.lrG < 1e-4).map((t) => t.settingId)).size;
    expect(lows).toBeGreaterThanOrEqual(4);
    expect(lows).toBeLessThanOrEqual(16);
    expect(expandSweep(spec).map((t) => t.trialId)).toEqual(trials.map((t) => t.trialId));
    // a different search seed draws different points
    const other = expandSweep({ ...spec, searchSeed: 5 });
    expect(other[0].hp.lrG).not.toBe(trials[0].hp.lrG);
  });

  it('does not depend on the order keys are written in', () => {
    const a = expandSweep(parseSweepSpec({ ...base, hp: { lrG: [1e-4, 2e-4], beta1: [0.5, 0.9] }, seeds: [1, 2] }));
    const b = expandSweep(
      parseSweepSpec({
        seeds: [1, 2],
        hp: { beta1: [0.5, 0.9], lrG: [1e-4, 2e-4] },
        data: { synthetic: { resolution: 28 } },
        metrics: ['fid'],
        budget: 'quick',
        datasets: ['synthetic'],
        models: ['dcgan'],
        name: 'unit',
      }),
    );
    expect(b.map((t) => t.trialId)).toEqual(a.map((t) => t.trialId));
  });

  it('applies overrides and dataset fields; locations do not change identity', () => {
    const spec = parseSweepSpec({
      ...base,
      overrides: { steps: 7, eval: { criticSteps: 3 } },
      hp: { widthMultiplier: 0.25, zDim: 8 },
    });
    const [t] = expandSweep(spec);
    expect(t.steps).toBe(7);
    expect(t.eval.criticSteps).toBe(3);
    expect(t.arch.widthMultiplier).toBe(0.25);
    expect(t.arch.zDim).toBe(8);
    expect(t.arch.resolution).toBe(28);
    expect(t.checkpointEvery).toBeLessThanOrEqual(7);
    const cm = parseSweepSpec({ ...base, datasets: ['colormnist'], data: {} });
    const here = expandSweep({ ...cm, dataDirs: { colormnist: '/mnt/a/mnist' } })[0];
    const there = expandSweep({ ...cm, dataDirs: { colormnist: '/data/mnist' } })[0];
    expect((here.datasetSpec as { mnistDir?: string }).mnistDir).toBe('/mnt/a/mnist');
    expect(here.trialId).toBe(there.trialId);
  });

  it('rejects a dataset field the dataset does not have, naming it', () => {
    expect(
      errorOf(() =>
        expandSweep({ ...base, data: { synthetic: { resolution: 28, colour: 'red' } } }, { label: 'sweeps/x.ts' }),
      ),
    ).toMatch(/^sweeps\/x\.ts: data\.synthetic/);
  });

  it('flat params: snake_case of every hyperparameter, architecture and protocol field', () => {
    const [t] = expandSweep(base);
    const p = trialParams(t);
    for (const key of [
      'model',
      'dataset',
      'seed',
      'steps',
      'lr_g',
      'lr_d',
      'beta1',
      'beta2',
      'batch_size',
      'z_dim',
      'n_g',
      'n_d',
      'gp_lambda',
      'recon_lambda',
      'width_multiplier',
      'resolution',
      'critic_steps',
      'fid_samples',
      'inception_samples',
    ]) {
      expect(p, key).toHaveProperty(key);
    }
    expect(p.model).toBe('dcgan');
    expect(p.lr_g).toBe(t.hp.lrG);
    expect(Object.keys(p).every((k) => /^[a-z0-9_]+$/.test(k))).toBe(true);
  });
});

describe('training length', () => {
  const alpha = (trainFor: object) =>
    expandSweep(
      parseSweepSpec({
        ...base,
        models: ['alpha-gan', 'age'],
        hp: { nG: [1, 5], batchSize: 16 },
        overrides: { trainFor },
      }),
    );

  it('converts generator updates and examples seen to steps per model and nG; logs unit and amount', () => {
    // (model, nG) → steps; rows per step: α-GAN max(nG, nD) × 16, AGE nD × 16 = 16
    const perG = alpha({ unit: 'generator_updates', amount: 1_000 }).map((t) => [t.model, t.hp.nG, t.steps]);
    expect(perG).toEqual([
      ['alpha-gan', 1, 1_000],
      ['alpha-gan', 5, 200],
      ['age', 1, 1_000],
      ['age', 5, 200],
    ]);
    const perX = alpha({ unit: 'examples_seen', amount: 16_000 }).map((t) => [t.model, t.hp.nG, t.steps]);
    expect(perX).toEqual([
      ['alpha-gan', 1, 1_000],
      ['alpha-gan', 5, 200],
      ['age', 1, 1_000],
      ['age', 5, 1_000],
    ]);
    const [t] = alpha({ unit: 'examples_seen', amount: 16_000 });
    expect(trialParams(t)).toMatchObject({ train_for_unit: 'examples_seen', train_for_amount: 16_000, steps: 1_000 });
  });

  it('defaults to the preset (generator updates); `steps` keeps meaning trainStep calls for every model', () => {
    const preset = expandSweep(parseSweepSpec({ ...base, models: ['age'], hp: { nG: [1, 2] } }));
    // the quick synthetic preset: 20 steps of AGE's default schedule (nG = 2) = 40 generator updates
    expect(preset.map((t) => [t.trainFor, t.steps])).toEqual([
      [{ unit: 'generator_updates', amount: 40 }, 40],
      [{ unit: 'generator_updates', amount: 40 }, 20],
    ]);
    const steps = expandSweep(
      parseSweepSpec({ ...base, models: ['age'], hp: { nG: [1, 2] }, overrides: { steps: 9 } }),
    );
    expect(steps.map((t) => [t.trainFor, t.steps])).toEqual([
      [{ unit: 'steps', amount: 9 }, 9],
      [{ unit: 'steps', amount: 9 }, 9],
    ]);
    // the same resolved steps are the same trial, however the length was stated
    const asSteps = expandSweep(parseSweepSpec({ ...base, overrides: { steps: 20 } }))[0];
    const asUpdates = expandSweep(
      parseSweepSpec({ ...base, overrides: { trainFor: { unit: 'generator_updates', amount: 20 } } }),
    )[0];
    expect(asUpdates.trialId).toBe(asSteps.trialId);
    expect(TrialPhaseSchema.options).toEqual(['grid', 'refine']);
  });
});

describe('refine', () => {
  const spec = parseSweepSpec({
    ...base,
    hp: { lrG: [1e-4, 2e-4, 3e-4, 4e-4] },
    seeds: [1, 2],
    metrics: ['fid', 'inception_score'],
    refine: { topK: 2, seeds: [10, 11, 12], metric: 'inception_score' },
  });
  const phase1 = expandSweep(spec);
  const run = (t: Trial, value: number | undefined, status: Run['info']['status'] = 'FINISHED'): Run => ({
    info: { runId: t.trialId, experimentId: '1', runName: t.runName, status, startTime: 0, artifactUri: '' },
    params: {},
    metrics: value === undefined ? {} : { 'val/inception_score': value },
    tags: { 'ganstudy.trial_id': t.trialId },
  });

  it('ranks settings by the mean score over their seeds, in the metric direction', () => {
    expect(SCORE_DIRECTIONS.inception_score).toBe('higher');
    // settings by lr: 1e-4 → mean 2, 2e-4 → mean 5, 3e-4 → 4 (one seed FAILED, ignored), 4e-4 → no score
    const scores: Record<number, [number, number]> = {
      1e-4: [1, 3],
      2e-4: [6, 4],
      3e-4: [4, 99],
      4e-4: [Number.NaN, Number.NaN],
    };
    const runs = phase1.map((t) => {
      const [s1, s2] = scores[t.hp.lrG];
      if (t.hp.lrG === 3e-4 && t.seed === 2) return run(t, s2, 'FAILED');
      return run(t, t.seed === 1 ? s1 : s2);
    });
    const ranked = rankSettings(phase1, runs, 'inception_score');
    expect(ranked.map((r) => [r.example.hp.lrG, r.score])).toEqual([
      [2e-4, 5],
      [3e-4, 4],
      [1e-4, 2],
    ]);
    const refine = expandRefine(spec, phase1, runs);
    expect(refine).toHaveLength(2 * 3);
    expect(refine.map((t) => [t.hp.lrG, t.seed, t.phase, t.index])).toEqual([
      [2e-4, 10, 'refine', 0],
      [2e-4, 11, 'refine', 1],
      [2e-4, 12, 'refine', 2],
      [3e-4, 10, 'refine', 3],
      [3e-4, 11, 'refine', 4],
      [3e-4, 12, 'refine', 5],
    ]);
    // same setting, new seed → same setting id, new trial id
    expect(refine[0].settingId).toBe(phase1.find((t) => t.hp.lrG === 2e-4)!.settingId);
    expect(new Set([...phase1, ...refine].map((t) => t.trialId)).size).toBe(phase1.length + refine.length);
  });

  it('lower-is-better metrics rank ascending', () => {
    const runs = phase1.map((t) => ({ ...run(t, undefined), metrics: { 'val/fid': t.hp.lrG * 1e4 } }));
    expect(rankSettings(phase1, runs, 'fid')[0].example.hp.lrG).toBe(1e-4);
  });
});

describe('TimedTracker', () => {
  it('forwards every call to the tracker it wraps and adds up the time per method', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-timed-'));
    const inner = new MlflowRestTracker(inject('mlflowUri'));
    const timed = new TimedTracker(inner);
    try {
      const exp = await timed.getOrCreateExperiment('timed');
      const run = await timed.createRun(exp, { runName: 'r' });
      await timed.logParams(run.runId, { a: 1 });
      await timed.startInBackground('logMetrics', (t) =>
        t.logMetrics(run.runId, [{ key: 'm', value: 2, step: 1, timestamp: Date.now() }]),
      );
      await timed.flush();
      // what the wrapped tracker holds: the calls went through unchanged
      const stored = await inner.getRun(run.runId);
      expect(stored.params).toEqual({ a: '1' });
      expect(stored.metrics.m).toBe(2);
      const byMethod = new Map(timed.byMethod());
      expect([...byMethod.keys()].sort()).toEqual(
        ['createRun', 'flush', 'getOrCreateExperiment', 'logMetrics', 'logParams'].sort(),
      );
      expect([...byMethod.values()].every((ms) => ms >= 0)).toBe(true);
      expect(timed.totalMs).toBeCloseTo(
        [...byMethod.values()].reduce((a, b) => a + b, 0),
        9,
      );
      expect(timed.byMethod().map(([, ms]) => ms)).toEqual([...byMethod.values()].sort((a, b) => b - a));
    } finally {
      await timed.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('scheduler helpers', () => {
  it('splits cores between parallel trials, at least one thread each', () => {
    expect(threadsPerTrial(2, 1)).toBe(2);
    expect(threadsPerTrial(2, 2)).toBe(1);
    expect(threadsPerTrial(2, 4)).toBe(1);
    expect(threadsPerTrial(16, 3)).toBe(5);
  });
});
