/**
 * How noisy the independent critic's Ŵ is at a given protocol: the same generators, several critic seeds, Ŵ after
 * several step counts K. Generators on ColorMNIST: `collapsed` (copies of one training image), `decent` (training
 * images with Gaussian pixel noise σ 0.2) and `faithful` (training images). Prints JSON: per generator and K, the
 * Ŵ of each seed, their mean and spread (max − min, and sample std).
 *
 *   npx tsx bench/critic-noise.ts [--steps 400] [--at 25,50,100,200] [--seeds 3] [--width 0.25] [--batch 64]
 */
import { parseArgs } from 'node:util';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildIndependentCritic } from '../src/models/index.js';
import { independentCritic, type ImageSampler } from '../metrics/index.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '400' },
    at: { type: 'string', default: '25,50,100,200' },
    seeds: { type: 'string', default: '3' },
    width: { type: 'string', default: '0.25' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '1e-4' },
    generators: { type: 'string', default: 'collapsed,decent,faithful' },
  },
});
const steps = Number(values.steps);
const at = values.at.split(',').map(Number);
const dataset = await loadDataset({ name: 'colormnist' });
const one = dataset.train.sample(1, 99).x;
const real: ImageSampler = (n, seed) => {
  const b = dataset.train.sample(n, seed);
  b.y?.dispose();
  return b.x;
};
const generators: Record<string, ImageSampler> = {
  collapsed: (n) => tf.tile(one, [n, 1, 1, 1]) as Tensor4D,
  decent: (n, seed) =>
    tf.tidy(() => {
      const x = real(n, seed);
      return tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, 0.2, 'float32', seed)), -1, 1) as Tensor4D;
    }),
  faithful: real,
};
const out: Record<string, Record<number, { w: number[]; mean: number; range: number; std: number }>> = {};
for (const name of values.generators.split(',')) {
  const perStep: Record<number, number[]> = {};
  for (let s = 0; s < Number(values.seeds); s++) {
    const t0 = performance.now();
    const res = await independentCritic({
      sample: generators[name]!,
      train: dataset.validation,
      evalSplit: dataset.test,
      steps,
      batchSize: Number(values.batch),
      width: Number(values.width),
      lr: Number(values.lr),
      seed: 1000 + s,
      buildCritic: buildIndependentCritic,
      estimateAt: at,
    });
    for (const e of res.estimates) (perStep[e.step] ??= []).push(e.w);
    const line = res.estimates.map((e) => `K=${e.step}: ${e.w.toFixed(3)}`).join(', ');
    process.stderr.write(`${name} seed ${s}: ${line} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  out[name] = {};
  for (const [k, ws] of Object.entries(perStep)) {
    const mean = ws.reduce((a, b) => a + b, 0) / ws.length;
    const std = Math.sqrt(ws.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ws.length - 1));
    out[name]![Number(k)] = { w: ws, mean, range: Math.max(...ws) - Math.min(...ws), std };
  }
}
console.log(JSON.stringify(out, null, 2));
