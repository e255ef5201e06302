/**
 * Does each model learn at its DEFAULT hyperparameters (defaultHyperparameters: learning rates, betas, nD / nG)?
 * Tiny networks (widths ×0.25, z 16, batch 16) on the synthetic set (one coloured square on a black background,
 * src/data/synthetic.ts), a step budget per model that fits in about a minute on one core.
 *
 * Two statistics of 256 samples, both compared with the data's closed-form values:
 *  - mean intensity: the L2 distance between the per-channel means and the data's (≈ −0.90 per channel at 28×28);
 *  - diversity: the per-pixel standard deviation across samples, averaged over pixels and channels. For the data
 *    pixel (y, x, c) is +1 with probability q = P(square covers y)·P(square covers x)·½, else −1, so its std is
 *    2√(q(1 − q)); the average is ≈ 0.39.
 * Pass: the mean-intensity distance falls to ≤ 0.85 × the untrained generator's (which outputs ≈ 0 everywhere), AND
 * the diversity reaches ≥ 0.05 × the data's. A constant output — one image for every z, all black included — has
 * diversity 0 and fails; so does the untrained generator (diversity < 0.001), whose mean intensity is far off.
 * At the default learning rates these budgets take the models only part of the way: one run (model seed 3) gave
 * mean-distance ratios DCGAN 0.47, WGAN-GP 0.57, AGE 0.76 (the tightest margin), α-GAN 0.40, and diversity
 * 0.10, 0.038, 0.105, 0.056 against the threshold 0.02. Each test took 28–43 s on a shared, busy 2-core machine.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { loadDataset, syntheticSide, syntheticStatistics } from '../src/data/index.js';
import { createModel, defaultHyperparameters } from '../src/models/index.js';
import type { ModelName } from '../src/models/types.js';

const R = 28;
const dataMean = syntheticStatistics(R, 3).channelMean;

/** closed form of the data's diversity statistic (see the file comment) */
function dataDiversity(): number {
  const s = syntheticSide(R);
  const positions = R - s + 1;
  const cover = (p: number) => (Math.min(p, R - s) - Math.max(0, p - s + 1) + 1) / positions;
  let sum = 0;
  for (let y = 0; y < R; y++) {
    for (let x = 0; x < R; x++) {
      const q = cover(y) * cover(x) * 0.5;
      sum += 2 * Math.sqrt(q * (1 - q));
    }
  }
  return sum / (R * R);
}
const DATA_DIVERSITY = dataDiversity();

function statistics(x: Tensor4D): { meanDistance: number; diversity: number } {
  return tf.tidy(() => {
    const meanDistance = tf.norm(tf.sub(tf.mean(x, [0, 1, 2]), tf.tensor1d(dataMean))).dataSync()[0];
    const diversity = tf.mean(tf.sqrt(tf.moments(x, 0).variance)).dataSync()[0];
    return { meanDistance, diversity };
  });
}

const BUDGET: Record<ModelName, number> = { dcgan: 200, 'wgan-gp': 80, age: 225, 'alpha-gan': 150 };

describe('each model learns the synthetic set at its default hyperparameters', async () => {
  const data = await loadDataset({ name: 'synthetic', resolution: R });

  it('the statistics of real images match the closed forms', () => {
    const real = data.test.sample(256, 1).x;
    const s = statistics(real);
    expect(DATA_DIVERSITY).toBeGreaterThan(0.3);
    expect(s.meanDistance).toBeLessThan(0.05);
    expect(Math.abs(s.diversity - DATA_DIVERSITY)).toBeLessThan(0.03);
    real.dispose();
  });

  for (const name of Object.keys(BUDGET) as ModelName[]) {
    it(`${name}: within ${BUDGET[name]} steps samples get darker like the data and vary with z, no tensor leaks`, () => {
      const hp = { ...defaultHyperparameters(name), batchSize: 16 };
      const arch = { resolution: R, channels: 3, zDim: 16, widthMultiplier: 0.25 } as const;
      const model = createModel({ model: name, arch, hp, seed: 3 });
      const score = () => {
        const s = model.sample(256, 99);
        const out = statistics(s);
        s.dispose();
        return out;
      };
      const before = score();
      const batches = data.train.batches(hp.batchSize, 1);
      let tensorsAfterFirst = 0;
      for (let i = 0; i < BUDGET[name]; i++) {
        const b = batches.next().value;
        if (!b) throw new Error('synthetic batches ended');
        const losses = model.trainStep(b.x);
        tf.dispose([b.x, b.y ?? []]);
        for (const [k, v] of Object.entries(losses))
          expect(Number.isFinite(v), `${name} step ${i} ${k}=${v}`).toBe(true);
        if (i === 0) tensorsAfterFirst = tf.memory().numTensors;
      }
      expect(tf.memory().numTensors, 'tensor count grows with steps').toBe(tensorsAfterFirst);
      const after = score();
      const said = `${name}: before ${JSON.stringify(before)} after ${JSON.stringify(after)}`;
      expect(before.meanDistance, said).toBeGreaterThan(1.4);
      expect(before.diversity, said).toBeLessThan(0.05 * DATA_DIVERSITY);
      expect(after.meanDistance, said).toBeLessThan(0.85 * before.meanDistance);
      expect(after.diversity, said).toBeGreaterThan(0.05 * DATA_DIVERSITY);
      model.dispose();
    });
  }
});
