/**
 * Issue 12.3: the batch-norm moving statistics that inference-mode G (samples, evaluation) uses come from prior
 * passes G(z) only, not from the reconstructions G(E(x)) that AGE and α-GAN also run through G in training mode.
 *
 * Expected values are computed independently of the model's training step: a twin model (same seed, so the same
 * initial weights) runs only the prior passes of the step — G(z) on the same latents (drawn from the step's seed
 * stream, as the model draws them) with G's weights as they were at each pass — and its moving statistics are the
 * expected ones. A second twin that also runs one reconstruction pass shows that such a pass would move them (the
 * check can fail). Same backend and same ops, so the comparison is exact up to 1e-7.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { AlphaGan, Age, Dcgan, defaultHyperparameters } from '../src/models/index.js';
import { l2Normalize } from '../src/models/losses.js';
import {
  keepingMovingStatistics,
  normalLatent,
  stepSeed,
  trainableVariables,
  type LayersModel,
} from '../src/models/common.js';
import type { ArchitectureConfig, ModelConfig, ModelName } from '../src/models/types.js';
import { createRng } from '../src/util/rng.js';

const ARCH: ArchitectureConfig = { resolution: 28, channels: 3, zDim: 8, widthMultiplier: 0.125 };
const B = 8;
const SEED = 31;

function config(model: ModelName): ModelConfig {
  return { model, arch: ARCH, hp: { ...defaultHyperparameters(model), batchSize: B, nD: 1, nG: 1 }, seed: SEED };
}

const realBatch = () => tf.tidy(() => tf.tanh(tf.randomNormal([B, 28, 28, 3], 0, 1, 'float32', 3)) as Tensor4D);

function movingStatistics(g: LayersModel): Float32Array[] {
  expect(g.nonTrainableWeights.length, 'G has batch-norm statistics').toBeGreaterThan(0);
  return g.nonTrainableWeights.map((w) => (w.read().dataSync() as Float32Array).slice());
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((w, i) => w.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

/** the latents the step's sub-updates draw, in order (one draw per sub-update in both models) */
function stepLatents(count: number, sphere: boolean): Tensor2D[] {
  const rng = createRng(stepSeed(SEED, 0, 0));
  return Array.from({ length: count }, () => normalLatent(B, ARCH.zDim, rng.seed(), sphere));
}

const trainingPass = (g: LayersModel, input: Tensor2D) => tf.tidy(() => void g.apply(input, { training: true }));

describe('BN moving statistics of G come from prior samples only', () => {
  it('AGE: after a step (1 E + 1 G update) they equal those of the two prior passes G(z) alone', () => {
    const x = realBatch();
    const model = new Age(config('age'));
    const initial = movingStatistics(model.G);
    model.trainStep(x);
    // both passes run with G's initial weights: G is updated only after the generator update's forward pass
    const [z1, z2] = stepLatents(2, true);
    const twin = new Age(config('age'));
    trainingPass(twin.G, z1);
    trainingPass(twin.G, z2);
    const expected = movingStatistics(twin.G);
    expect(maxDiff(expected, initial), 'prior passes move the statistics').toBeGreaterThan(1e-3);
    expect(maxDiff(movingStatistics(model.G), expected)).toBeLessThan(1e-7);
    // had the reconstruction G(E(x)) counted, the statistics would differ measurably
    const withRecon = new Age(config('age'));
    trainingPass(withRecon.G, z1);
    tf.tidy(() => trainingPass(withRecon.G, l2Normalize(withRecon.E.apply(x, { training: true }) as Tensor2D)));
    trainingPass(withRecon.G, z2);
    expect(maxDiff(movingStatistics(withRecon.G), expected)).toBeGreaterThan(1e-4);
    [model, twin, withRecon].forEach((m) => m.dispose());
    tf.dispose([x, z1, z2]);
  });

  it('α-GAN: after a step they equal those of the prior passes G₀(z₁) ((E,G) phase) and G₁(z₂) (D phase)', () => {
    const x = realBatch();
    const model = new AlphaGan(config('alpha-gan'), { codeUnits: 16 });
    model.trainStep(x);
    const [z1, z2] = stepLatents(2, false);
    const twin = new AlphaGan(config('alpha-gan'), { codeUnits: 16 });
    trainingPass(twin.G, z1);
    // the D phase samples with G after the (E,G) update; the D and C phases leave G as the model ends the step
    const after = trainableVariables(model.G);
    trainableVariables(twin.G).forEach((v, i) => v.assign(tf.clone(after[i])));
    trainingPass(twin.G, z2);
    const expected = movingStatistics(twin.G);
    expect(maxDiff(movingStatistics(model.G), expected)).toBeLessThan(1e-7);
    // one reconstruction pass more would move them
    tf.tidy(() => trainingPass(twin.G, twin.E.apply(x, { training: true }) as Tensor2D));
    expect(maxDiff(movingStatistics(twin.G), expected)).toBeGreaterThan(1e-4);
    [model, twin].forEach((m) => m.dispose());
    tf.dispose([x, z1, z2]);
  });

  it('keepingMovingStatistics restores them exactly and leaves the pass itself unchanged', () => {
    const model = new Dcgan(config('dcgan'));
    const g = model.G;
    const z = normalLatent(B, ARCH.zDim, 5, false);
    const before = movingStatistics(g);
    const kept = keepingMovingStatistics(g, () => g.apply(z, { training: true }) as Tensor4D);
    expect(maxDiff(movingStatistics(g), before)).toBe(0);
    const plain = g.apply(z, { training: true }) as Tensor4D;
    expect(maxDiff(movingStatistics(g), before), 'an unwrapped pass does move them').toBeGreaterThan(1e-3);
    expect(tf.max(tf.abs(tf.sub(kept, plain))).dataSync()[0]).toBe(0);
    tf.dispose([z, kept, plain]);
    model.dispose();
  });
});
