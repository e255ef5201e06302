/**
 * The fused TensorFlow kernels (src/models/ops/) against the TF.js compositions they replace: values, gradients
 * and, for the activations the WGAN-GP penalty goes through, gradients of gradients; the batch-norm layer's
 * weights and moving statistics; and a few fixed-seed training steps of every model with and without them.
 *
 * Tolerances are float32 ones: the two sides sum in different orders (TF's fused kernels vs TF.js's
 * reductions), so values of order 1 agree to ~1e-6 and reductions over thousands of elements to ~1e-5.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { createModel, defaultHyperparameters, realRowsPerStep } from '../src/models/index.js';
import { buildDiscriminator, buildGenerator } from '../src/models/networks.js';
import { FusedBatchNormalization, fusedBatchNormTraining } from '../src/models/ops/fused-batch-norm.js';
import { fusedLeakyRelu } from '../src/models/ops/leaky-relu.js';
import { fusedOpsEnabled, setFusedOps } from '../src/models/ops/native.js';
import { fusedRelu } from '../src/models/ops/relu.js';
import { MODEL_NAMES, type ArchitectureConfig, type ModelName } from '../src/models/types.js';

afterAll(() => setFusedOps(true));

/** largest |a − b| relative to max(1, |b|), elementwise */
function maxRelDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.div(tf.abs(tf.sub(a, b)), tf.maximum(tf.abs(b), 1))).dataSync()[0]!);
}

const ALPHA = 0.2;
/** the twice-differentiable leaky ReLU the critic used before (networks.ts SmoothGradLeakyReLU) */
const smoothLeaky = (x: Tensor) => tf.add(tf.mul(x, 0.5 * (1 + ALPHA)), tf.mul(tf.abs(x), 0.5 * (1 - ALPHA)));
/** the same construction for ReLU: 0.5(x + |x|) */
const smoothRelu = (x: Tensor) => tf.mul(tf.add(x, tf.abs(x)), 0.5);

/**
 * A scalar function of weights w whose gradient needs the activation's second-order gradient, like the penalty:
 * Σ (∂/∂x Σ c ⊙ act(x ⊙ w))².
 */
function penaltyLike(act: (x: Tensor) => Tensor, x: Tensor, c: Tensor) {
  return (w: Tensor) => {
    const g = tf.grad((xx: Tensor) => tf.sum(tf.mul(act(tf.mul(xx, w)), c)))(x);
    return tf.sum(tf.square(g));
  };
}

describe('fused activations', () => {
  const x = tf.randomNormal([4, 6, 6, 3], 0, 1, 'float32', 1);
  const w = tf.randomNormal([4, 6, 6, 3], 1, 0.3, 'float32', 2);
  const c = tf.randomNormal([4, 6, 6, 3], 0, 1, 'float32', 3);
  const cases = [
    {
      name: 'leaky ReLU',
      fused: (t: Tensor) => fusedLeakyRelu(t, ALPHA),
      tfjs: (t: Tensor) => tf.leakyRelu(t, ALPHA),
      smooth: smoothLeaky,
    },
    { name: 'ReLU', fused: (t: Tensor) => fusedRelu(t), tfjs: (t: Tensor) => tf.relu(t), smooth: smoothRelu },
  ];
  for (const k of cases) {
    it(`${k.name}: values and gradients equal TF.js's`, () => {
      expect(maxRelDiff(k.fused(x), k.tfjs(x))).toBe(0);
      const grad = (act: (t: Tensor) => Tensor) => tf.grad((t: Tensor) => tf.sum(tf.mul(act(t), c)))(x);
      expect(maxRelDiff(grad(k.fused), grad(k.tfjs))).toBe(0);
    });
    it(`${k.name}: gradient of the gradient equals the abs-based formulation's`, () => {
      const fused = tf.grad(penaltyLike(k.fused, x, c))(w);
      const smooth = tf.grad(penaltyLike(k.smooth, x, c))(w);
      expect(tf.sum(tf.abs(fused)).dataSync()[0]).toBeGreaterThan(1); // not trivially zero
      expect(maxRelDiff(fused, smooth)).toBeLessThan(1e-5);
    });
  }
});

describe('fused batch norm', () => {
  const composed = (x: Tensor, gamma: Tensor, beta: Tensor) => {
    const axes = x.shape.map((_, i) => i).slice(0, -1);
    const { mean, variance } = tf.moments(x, axes);
    return { y: tf.batchNorm(x, mean, variance, beta, gamma, 1e-5), mean, variance };
  };
  for (const shape of [
    [16, 5, 5, 7],
    [16, 7],
  ]) {
    it(`rank ${shape.length}: output, batch moments and gradients equal TF.js's`, () => {
      const x = tf.randomNormal(shape, 0.5, 2, 'float32', 4);
      const gamma = tf.randomNormal([7], 1, 0.1, 'float32', 5);
      const beta = tf.randomNormal([7], 0, 0.1, 'float32', 6);
      const c = tf.randomNormal(shape, 0, 1, 'float32', 7);
      const f = fusedBatchNormTraining(x, gamma, beta, 1e-5);
      const r = composed(x, gamma, beta);
      expect(maxRelDiff(f.y, r.y)).toBeLessThan(1e-5);
      expect(maxRelDiff(f.mean, r.mean)).toBeLessThan(1e-6);
      expect(maxRelDiff(f.variance, r.variance)).toBeLessThan(1e-5); // biased, as tf.moments
      const loss = (bn: (a: Tensor, b: Tensor, d: Tensor) => Tensor) => (a: Tensor, b: Tensor, d: Tensor) =>
        tf.sum(tf.mul(tf.square(bn(a, b, d)), c));
      const gf = tf.grads(loss((a, b, d) => fusedBatchNormTraining(a, b, d, 1e-5).y))([x, gamma, beta]);
      const gr = tf.grads(loss((a, b, d) => composed(a, b, d).y))([x, gamma, beta]);
      gf.forEach((g, i) => expect(maxRelDiff(g, gr[i]!)).toBeLessThan(1e-4));
    });
  }

  it('the layer keeps tf.layers.batchNormalization weights, moving statistics and inference output', () => {
    const args = { momentum: 0.9, epsilon: 1e-5, gammaInitializer: 'ones', betaInitializer: 'zeros' } as const;
    const fused = new FusedBatchNormalization(args);
    const plain = tf.layers.batchNormalization(args);
    const x = tf.randomNormal([8, 4, 4, 6], 1, 3, 'float32', 8);
    fused.apply(x, { training: true });
    plain.apply(x, { training: true });
    // same weights in the same order, up to the layer's numeric suffix
    const describe = (l: typeof plain) =>
      l.weights.map((v) => [v.originalName.replace(/\d+/g, '#'), v.shape, v.trainable]);
    expect(describe(fused as unknown as typeof plain)).toEqual(describe(plain));
    expect(fused.getClassName()).toBe('BatchNormalization');
    for (let i = 0; i < 3; i++) {
      const xi = tf.randomNormal([8, 4, 4, 6], i, 2, 'float32', 9 + i);
      const yf = fused.apply(xi, { training: true }) as Tensor;
      const yp = plain.apply(xi, { training: true }) as Tensor;
      expect(maxRelDiff(yf, yp)).toBeLessThan(1e-5);
    }
    fused.getWeights().forEach((w, i) => expect(maxRelDiff(w, plain.getWeights()[i]!)).toBeLessThan(1e-5));
    const moving = fused.getWeights()[3]!.dataSync();
    expect(Math.max(...Array.from(moving)) - 1).toBeGreaterThan(0.5); // the moving variance did move
    expect(maxRelDiff(fused.apply(x) as Tensor, plain.apply(x) as Tensor)).toBeLessThan(1e-5);
  });
});

describe('networks with and without fused kernels', () => {
  const arch: ArchitectureConfig = { resolution: 28, channels: 3, zDim: 8, widthMultiplier: 0.25 };
  const build = (on: boolean) => {
    setFusedOps(on);
    const nets = {
      G: buildGenerator(arch, { seed: 1 }),
      D: buildDiscriminator(arch, { batchNorm: true, outputs: 1, seed: 2 }),
      critic: buildDiscriminator(arch, { batchNorm: false, outputs: 1, doubleBackprop: true, seed: 3 }),
    };
    setFusedOps(true);
    return nets;
  };

  it('have the same weights (names, shapes, trainable flags, initial values) and training-mode outputs', () => {
    const fused = build(true);
    const plain = build(false);
    const z = tf.randomNormal([8, 8], 0, 1, 'float32', 1);
    for (const k of ['G', 'D', 'critic'] as const) {
      const wf = fused[k].weights;
      const wp = plain[k].weights;
      const strip = (n: string) => n.replace(/_\d+/g, '').replace(/\d+/g, '');
      expect(wf.map((w) => [strip(w.originalName), w.shape, w.trainable])).toEqual(
        wp.map((w) => [strip(w.originalName), w.shape, w.trainable]),
      );
      wf.forEach((w, i) => expect(maxRelDiff(w.read(), wp[i]!.read())).toBe(0));
      const input = k === 'G' ? z : (plain.G.apply(z, { training: false }) as Tensor);
      const yf = fused[k].apply(input, { training: true }) as Tensor;
      const yp = plain[k].apply(input, { training: true }) as Tensor;
      expect(maxRelDiff(yf, yp)).toBeLessThan(1e-5);
    }
  });

  it('is on by default on the native backend', () => {
    expect(fusedOpsEnabled()).toBe(process.env.GANSTUDY_FUSED_OPS !== '0');
  });
});

describe('fixed-seed training with and without fused kernels', () => {
  // GAN updates amplify float32 rounding differences step by step (the two sides sum in different orders):
  // at this width the losses of 3 steps differ by ≤ 3e-7 relative; full-width networks drift further (~1e-3
  // after 4 DCGAN 28×28 steps), which is why the check uses few steps and small networks.
  const arch: ArchitectureConfig = { resolution: 28, channels: 3, zDim: 8, widthMultiplier: 0.125 };
  const STEPS = 3;
  const TOLERANCE = 1e-5;
  const losses = (model: ModelName, on: boolean) => {
    setFusedOps(on);
    const hp = { ...defaultHyperparameters(model), batchSize: 8 };
    const m = createModel({ model, arch, hp, seed: 5 });
    setFusedOps(true);
    const rows = realRowsPerStep({ model, hp });
    const real = tf.tidy(() => tf.tanh(tf.randomNormal([rows, 28, 28, 3], 0, 1, 'float32', 6)) as Tensor4D);
    const out = Array.from({ length: STEPS }, () => m.trainStep(real));
    real.dispose();
    m.dispose();
    return out;
  };
  for (const model of MODEL_NAMES) {
    it(`${model}: every loss of ${STEPS} steps agrees within ${TOLERANCE} (relative to max(1, |loss|))`, () => {
      const fused = losses(model, true);
      const plain = losses(model, false);
      fused.forEach((step, i) => {
        const ref = plain[i]!;
        expect(Object.keys(step).sort()).toEqual(Object.keys(ref).sort());
        for (const [k, v] of Object.entries(step)) {
          expect(Number.isFinite(v), `${k} at step ${i}`).toBe(true);
          expect(
            Math.abs(v - ref[k]!) / Math.max(1, Math.abs(ref[k]!)),
            `${k} at step ${i}: ${v} vs ${ref[k]}`,
          ).toBeLessThan(TOLERANCE);
        }
      });
    }, 120_000);
  }
});
