/**
 * Presets: every (model, dataset, budget) resolves, validates, and carries the paper-spec values; the quick
 * budget's training time, from the measured step costs, fits the quickstart's envelope; every dataset spec is one
 * that src/data accepts. One real training step of a quick preset checks that the preset builds a working model.
 */
import { describe, expect, it } from 'vitest';
import {
  BUDGETS as PRESET_BUDGETS,
  BudgetSchema,
  CPU_EVALUATIONS,
  CPU_STEP_TIMES_MS,
  CPU_TRAIN_SECONDS,
  CPU_WIDTH,
  PAPER_EVAL,
  PresetSchema,
  QUICK_STEP_TIMES_MS,
  QUICK_TRAIN_SECONDS,
  datasetSpecFor,
  getPreset,
} from '../experiments/index.js';
import type { Budget } from '../experiments/types.js';
import { EvalProtocolSchema } from '../metrics/protocol.js';
import { tf } from '../src/backend/index.js';
import { defineSweep } from '../src/sweep/define.js';
import { expandSweep } from '../src/sweep/expand.js';
import { DatasetSpecSchema } from '../src/data/index.js';
import type { DatasetName } from '../src/data/types.js';
import { createModel, defaultHyperparameters } from '../src/models/index.js';
import { MODEL_NAMES } from '../src/models/types.js';
import { rowsPerStep, stepsFor } from '../src/train/index.js';

const DATASETS: DatasetName[] = ['colormnist', 'cifar10', 'celeba', 'synthetic'];
const BUDGETS: Budget[] = ['paper', 'quick', 'cpu'];

describe('getPreset', () => {
  for (const model of MODEL_NAMES) {
    for (const dataset of DATASETS) {
      for (const budget of BUDGETS) {
        it(`${model} / ${dataset} / ${budget} validates`, () => {
          const p = getPreset(model, dataset, budget);
          expect(PresetSchema.safeParse(p).success).toBe(true);
          expect(EvalProtocolSchema.safeParse(p.eval).success).toBe(true);
          expect([p.model, p.dataset, p.budget]).toEqual([model, dataset, budget]);
          expect(p.checkpointEvery).toBeLessThanOrEqual(p.steps);
          expect(p.trainFor.unit).toBe('generator_updates');
          expect(p.steps).toBe(stepsFor(p.trainFor, p));
        });
      }
    }
  }

  it('paper budget: paper-spec resolutions, full width, batch 64, the models’ defaults, paper-scale evaluation', () => {
    const res = { colormnist: 28, cifar10: 32, celeba: 64 } as const;
    for (const model of MODEL_NAMES) {
      for (const [dataset, r] of Object.entries(res) as [keyof typeof res, number][]) {
        const p = getPreset(model, dataset, 'paper');
        expect(p.arch).toMatchObject({ resolution: r, channels: 3, widthMultiplier: 1, zDim: r === 64 ? 64 : 128 });
        expect(p.hp).toEqual(defaultHyperparameters(model));
        expect(p.hp.batchSize).toBe(64);
        // 200,000 generator iterations as improved_wgan_training (ColorMNIST half), whatever the model's nG
        expect(p.trainFor).toEqual({ unit: 'generator_updates', amount: dataset === 'colormnist' ? 100_000 : 200_000 });
        expect(p.steps * p.hp.nG).toBe(p.trainFor.amount);
        expect(p.eval).toEqual(PAPER_EVAL);
      }
    }
    expect(PAPER_EVAL).toMatchObject({
      inceptionSamples: 50_000,
      inceptionSplits: 10,
      diversityBatches: 5,
      diversityBatchSize: 64,
      criticBatchSize: 64,
      fidSamples: 10_000,
    });
  });

  it('budgets are one zod enum; BUDGETS lists it', () => {
    expect(PRESET_BUDGETS).toEqual(['paper', 'quick', 'cpu']);
    expect(BudgetSchema.safeParse('huge').success).toBe(false);
  });

  it('the default budget is paper', () => {
    expect(getPreset('dcgan', 'cifar10')).toEqual(getPreset('dcgan', 'cifar10', 'paper'));
  });

  it('quick budget: the quickstart (4 models × 2 settings on ColorMNIST) trains ≈ QUICK_TRAIN_SECONDS per trial, ≤ 10 min of training on 2 cores', () => {
    let total = 0;
    for (const model of MODEL_NAMES) {
      const p = getPreset(model, 'colormnist', 'quick');
      const sec = (p.steps * QUICK_STEP_TIMES_MS[model]) / 1000;
      expect(sec).toBeGreaterThan(0.8 * QUICK_TRAIN_SECONDS);
      expect(sec).toBeLessThanOrEqual(QUICK_TRAIN_SECONDS);
      total += 2 * sec;
      expect(p.eval.inceptionSamples % p.eval.inceptionSplits).toBe(0);
    }
    // all 8 trials' training on the quickstart's two single-threaded workers: leaves ≥ 5 of the 15 minutes for
    // start-up and evaluation (measured ≈ 35 s of evaluation per trial)
    expect(total / 2).toBeLessThanOrEqual(10 * 60);
  });

  it('cpu budget: sweeps/colormnist-cpu (24 trials, two at a time) trains ≈ CPU_TRAIN_SECONDS per default trial, within two hours with its evaluations', () => {
    let total = 0;
    for (const model of MODEL_NAMES) {
      const p = getPreset(model, 'colormnist', 'cpu');
      const sec = (p.steps * CPU_STEP_TIMES_MS[model]) / 1000;
      expect(sec).toBeGreaterThan(0.9 * CPU_TRAIN_SECONDS);
      expect(sec).toBeLessThanOrEqual(CPU_TRAIN_SECONDS);
      expect(p.arch.widthMultiplier).toBe(CPU_WIDTH);
      expect(p.hp.batchSize).toBe(64);
      expect(p.evaluations).toBe(CPU_EVALUATIONS);
      expect(p.eval.inceptionSamples).toBeGreaterThanOrEqual(5_000);
      expect(p.eval.fidSamples).toBeGreaterThanOrEqual(5_000);
      total += 6 * sec;
    }
    // the training alone on two workers leaves ≥ 30 of the 120 minutes for evaluation and start-up
    expect(total / 2).toBeLessThanOrEqual(90 * 60);
  });

  it('evaluations spread validation scorings over the setting’s own steps (a sweep that changes nG keeps the count)', () => {
    const sweep = defineSweep({
      name: 'cpu-evals',
      models: ['age'],
      datasets: ['colormnist'],
      budget: 'cpu',
      perModel: { age: { nG: [1, 2] } },
      seeds: [0],
      metrics: ['inception_score'],
    });
    for (const t of expandSweep(sweep)) {
      expect(t.evalEvery).toBe(Math.ceil(t.steps / CPU_EVALUATIONS));
      expect(t.steps * t.hp.nG).toBe(getPreset('age', 'colormnist', 'cpu').trainFor.amount);
    }
    expect(getPreset('dcgan', 'colormnist', 'quick').evaluations).toBe(1);
  });

  it('rejects unknown names, naming the argument', () => {
    expect(() => getPreset('vae' as never, 'colormnist')).toThrow(/unknown model 'vae'/);
    expect(() => getPreset('dcgan', 'mnist' as never)).toThrow(/unknown dataset 'mnist'/);
    expect(() => getPreset('dcgan', 'colormnist', 'huge' as never)).toThrow(/unknown budget 'huge'/);
  });
});

describe('datasetSpecFor', () => {
  it('gives specs that src/data accepts, with the expected locations', () => {
    for (const dataset of DATASETS)
      for (const budget of BUDGETS)
        expect(DatasetSpecSchema.safeParse(datasetSpecFor(dataset, budget)).success).toBe(true);
    expect(datasetSpecFor('colormnist', 'quick')).toEqual({ name: 'colormnist' });
    expect(datasetSpecFor('colormnist', 'quick', { dir: '/mnist' })).toEqual({
      name: 'colormnist',
      mnistDir: '/mnist',
    });
    expect(datasetSpecFor('cifar10', 'paper')).toEqual({ name: 'cifar10', dir: 'data/cifar-10-batches-bin' });
    expect(datasetSpecFor('celeba', 'paper', { dir: '/faces' })).toEqual({ name: 'celeba', dir: '/faces', size: 64 });
    expect(datasetSpecFor('synthetic', 'quick')).toMatchObject({ name: 'synthetic', resolution: 28 });
  });
});

describe('quick presets build working models', () => {
  it('one training step of each quick ColorMNIST preset gives finite losses', () => {
    for (const model of MODEL_NAMES) {
      const p = getPreset(model, 'colormnist', 'quick');
      const m = createModel({ model, arch: p.arch, hp: p.hp, seed: 0 });
      const x = tf.randomUniform([rowsPerStep({ model, hp: p.hp }), 28, 28, 3], -1, 1);
      const losses = tf.tidy(() => m.trainStep(x as Parameters<typeof m.trainStep>[0]));
      expect(Object.values(losses).every(Number.isFinite), `${model}: ${JSON.stringify(losses)}`).toBe(true);
      x.dispose();
      m.dispose();
    }
  });
});
