/**
 * The models' losses (src/models/losses.ts) against closed forms on small fixed tensors, computed here in plain
 * float64 JavaScript (issue 12.8). TF computes in float32: tolerance 1e-5 relative to max(1, |expected|) for
 * values, stated per check for gradients.
 */
import { describe, expect, it } from 'vitest';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import {
  ageEncoderLoss,
  ageGeneratorLoss,
  dcganDiscriminatorLoss,
  dcganGeneratorLoss,
  wganCriticLoss,
  wganGeneratorLoss,
} from '../src/models/losses.js';
import type { AgeKlForm } from '../src/models/types.js';

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** −log σ(x) and −log(1 − σ(x)), straight from the definition (fine for the moderate logits used here) */
const negLogSigmoid = (x: number) => -Math.log(sigmoid(x));
const negLogOneMinusSigmoid = (x: number) => -Math.log(1 - sigmoid(x));

function expectClose(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    1e-5 * Math.max(1, Math.abs(expected)),
  );
}
const value = (t: Scalar) => t.dataSync()[0];

describe('DCGAN losses', () => {
  const realLogits = [2.5, -0.5, 1, 0.25];
  const fakeLogits = [-3, 0.5, -1.25, 2];

  it('discriminator: BCE(D(x), 1) + BCE(D(G(z)), 0), means over the batch', () => {
    const expected = mean(realLogits.map(negLogSigmoid)) + mean(fakeLogits.map(negLogOneMinusSigmoid));
    expectClose(value(dcganDiscriminatorLoss(tf.tensor1d(realLogits), tf.tensor1d(fakeLogits))), expected, 'L_D');
    // signs: a discriminator that is right (real ≫ 0, fake ≪ 0) has a small loss, a wrong one a large loss
    const right = value(dcganDiscriminatorLoss(tf.tensor1d([6, 6]), tf.tensor1d([-6, -6])));
    const wrong = value(dcganDiscriminatorLoss(tf.tensor1d([-6, -6]), tf.tensor1d([6, 6])));
    expectClose(right, negLogSigmoid(6) + negLogOneMinusSigmoid(-6), 'L_D right');
    expectClose(wrong, negLogSigmoid(-6) + negLogOneMinusSigmoid(6), 'L_D wrong');
    expect(wrong).toBeGreaterThan(10);
    expect(right).toBeLessThan(0.01);
  });

  it('generator: non-saturating −mean log σ(D(G(z))), with its gradient −(1 − σ(l))/n', () => {
    const expected = mean(fakeLogits.map(negLogSigmoid));
    expectClose(value(dcganGeneratorLoss(tf.tensor1d(fakeLogits))), expected, 'L_G');
    // the non-saturating form keeps a strong gradient where D rejects the sample (l ≪ 0); the saturating
    // log(1 − σ(l)) would give −σ(l)/n there, nearly 0
    const grad = tf
      .grad((l: Tensor) => dcganGeneratorLoss(l))(tf.tensor1d(fakeLogits))
      .dataSync();
    fakeLogits.forEach((l, i) => expect(Math.abs(grad[i] - -(1 - sigmoid(l)) / fakeLogits.length)).toBeLessThan(1e-6));
    expect(grad[0]).toBeLessThan(-0.2); // l = −3: −(1 − 0.047)/4 = −0.238; the saturating form: −0.012
  });
});

describe('WGAN-GP losses', () => {
  const fReal = [0.75, -0.25, 1.5];
  const fFake = [-1, 0.5, 0.125];

  it('generator: −mean f(G(z)), gradient −1/n per sample', () => {
    expectClose(value(wganGeneratorLoss(tf.tensor1d(fFake))), -mean(fFake), 'L_G');
    const grad = tf
      .grad((f: Tensor) => wganGeneratorLoss(f))(tf.tensor1d(fFake))
      .dataSync();
    grad.forEach((g) => expect(Math.abs(g + 1 / 3)).toBeLessThan(1e-7));
  });

  it('critic: mean f(G(z)) − mean f(x) + λ·penalty; Wasserstein estimate mean f(x) − mean f(G(z))', () => {
    const penalty = 0.3;
    const { loss, wEstimate } = wganCriticLoss(tf.tensor1d(fReal), tf.tensor1d(fFake), tf.scalar(penalty), 10);
    expectClose(value(loss), mean(fFake) - mean(fReal) + 10 * penalty, 'L_critic');
    expectClose(value(wEstimate), mean(fReal) - mean(fFake), 'w_estimate');
  });
});

describe('AGE losses (both KL forms)', () => {
  // codes [B = 4, M = 3]; each column has a different mean and spread
  const codesReal = [
    [0.5, -0.2, 0.1],
    [0.3, 0.4, -0.6],
    [-0.1, 0.2, 0.3],
    [0.7, -0.5, 0.05],
  ];
  const codesFake = [
    [0.05, 0.6, -0.3],
    [-0.4, 0.1, 0.2],
    [0.2, -0.3, 0.45],
    [0.1, 0.35, -0.15],
  ];
  const z = [
    [0.6, -0.8, 0],
    [0, 0.6, -0.8],
    [0.8, 0, 0.6],
    [-0.6, 0.8, 0],
  ];
  const real = [0.5, -1, 0.25, 1, -0.5, 0];
  const rec = [0.25, -0.5, 0.25, 0.5, 0, -0.25];

  /** mean over dimensions of the per-dimension KL of the batch Gaussian (biased variance) */
  function kl(codes: number[][], form: AgeKlForm): number {
    const perDim = codes[0].map((_, j) => {
      const col = codes.map((r) => r[j]);
      const m = mean(col);
      const v = mean(col.map((x) => (x - m) ** 2));
      return form === 'paper' ? (v + m * m) / 2 - 0.5 * Math.log(v) - 0.5 : (v * v + m * m) / 2 - Math.log(v) - 0.5;
    });
    return mean(perDim);
  }
  function matchCos(a: number[][], b: number[][]): number {
    const unit = (r: number[]) => r.map((x) => x / Math.hypot(...r));
    const dots = a.flatMap((r, i) => unit(r).map((x, j) => x * unit(b[i])[j]));
    return 2 - mean(dots);
  }

  for (const form of ['paper', 'code'] as const) {
    it(`encoder (${form}): KL(e(x)) − KL(e(g(z))) + λ·mean|g(e(x)) − x|`, () => {
      const lambda = 10;
      const r = ageEncoderLoss(
        {
          codesReal: tf.tensor2d(codesReal) as Tensor2D,
          codesFake: tf.tensor2d(codesFake) as Tensor2D,
          real: tf.tensor4d(real, [1, 2, 3, 1]) as Tensor4D,
          reconstruction: tf.tensor4d(rec, [1, 2, 3, 1]) as Tensor4D,
        },
        { form, lambda },
      );
      const recon = mean(real.map((x, i) => Math.abs(rec[i] - x)));
      expectClose(value(r.klReal), kl(codesReal, form), 'KL real');
      expectClose(value(r.klFake), kl(codesFake, form), 'KL fake');
      expectClose(value(r.recon), recon, 'recon');
      expectClose(value(r.loss), kl(codesReal, form) - kl(codesFake, form) + lambda * recon, 'L_E');
    });

    it(`generator (${form}): KL(e(g(z))) + μ·match_cos(e(g(z)), z)`, () => {
      const mu = 1000;
      const t = { codesFake: tf.tensor2d(codesFake) as Tensor2D, z: tf.tensor2d(z) as Tensor2D };
      const r = ageGeneratorLoss(t, { form, mu });
      expectClose(value(r.klFake), kl(codesFake, form), 'KL fake');
      expectClose(value(r.matchZ), matchCos(codesFake, z), 'match_z');
      expectClose(value(r.loss), kl(codesFake, form) + mu * matchCos(codesFake, z), 'L_G');
    });
  }

  it('the two forms differ on these codes (the test tells them apart)', () => {
    expect(Math.abs(kl(codesReal, 'paper') - kl(codesReal, 'code'))).toBeGreaterThan(0.1);
  });
});
