/**
 * The per-dataset classifier on the real shipped MNIST digits (ColorMNIST from the `mnist` package: 8,000 train /
 * 1,000 validation / 1,000 test) and the Inception score from images with it.
 *
 * Tolerances: held-out digit accuracy ≥ 0.90 after 400 Adam steps (a small CNN reaches ~0.95 on these digits; the
 * margin covers seed and thread-order noise). IS from images is compared with a float64 computation written here
 * from the formula (paper-spec §5.1) on the same probabilities: relative error < 1e-6 (float32 softmax rows summing
to 1 ± 1e-7 are treated slightly differently by the two; both sum in float64). IS of copies of one image is
 * 1 (every row identical → KL = 0) within 1e-6. IS of 1,000 shuffled real test digits with a ≥ 90 % accurate
 * classifier over 10 roughly balanced classes: ≥ 7 (≈ 10 for a perfect, confident classifier; each of the 10 splits
 * holds only 100 images, so class imbalance per split already lowers it a little).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import type { Dataset } from '../src/data/types.js';
import {
  classifyInBatches,
  getDatasetClassifier,
  inceptionScore,
  type DatasetClassifier,
} from '../metrics/classifiers.js';

const STEPS = 400;

/** IS in float64 straight from the formula, independent of metrics/inception-score.ts. */
function referenceIS(probs: Float32Array, n: number, c: number, splits: number): { mean: number; std: number } {
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const lo = Math.floor((s * n) / splits);
    const hi = Math.floor(((s + 1) * n) / splits);
    const marginal = new Float64Array(c);
    for (let i = lo; i < hi; i++) for (let y = 0; y < c; y++) marginal[y] += probs[i * c + y] / (hi - lo);
    let kl = 0;
    for (let i = lo; i < hi; i++) {
      for (let y = 0; y < c; y++) {
        const p = probs[i * c + y];
        if (p > 0) kl += p * (Math.log(p) - Math.log(marginal[y]));
      }
    }
    scores.push(Math.exp(kl / (hi - lo)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std };
}

/** generous: the machine that runs CI may be shared (these take a tenth of this on an idle 2-core machine) */
const SLOW = 300_000;
describe('dataset classifier (ColorMNIST digits) and the Inception score from images', () => {
  let cacheDir: string;
  let dataset: Dataset;
  let clf: DatasetClassifier;
  let trainMs = 0;

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-clf-'));
    dataset = await loadDataset({ name: 'colormnist' });
    const t0 = performance.now();
    clf = await getDatasetClassifier(dataset, { steps: STEPS, seed: 1, cacheDir });
    trainMs = performance.now() - t0;
  }, SLOW);
  afterAll(async () => {
    clf?.dispose();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it(
    'reaches ≥ 0.90 held-out accuracy, names itself and caches on disk',
    async () => {
      console.log(
        `dataset classifier: ${clf.name} accuracy=${clf.accuracy.toFixed(4)} train+eval=${trainMs.toFixed(0)} ms`,
      );
      expect(clf.fromCache).toBe(false);
      expect(clf.accuracy).toBeGreaterThanOrEqual(0.9);
      expect(clf.meta.testSize).toBe(dataset.test.size);
      expect(clf.name).toMatch(/^colormnist-digit-cnn@[0-9a-f]{16}$/);
      expect(clf.numClasses).toBe(10);

      // independent accuracy check on the test split through the public API
      const n = dataset.test.size;
      const { x, y } = dataset.test.batch(
        Int32Array.from({ length: n }, (_, i) => i),
        0,
      );
      const probs = clf.predictProbs(x);
      const pred = probs.argMax(1).dataSync();
      const labels = y!.dataSync();
      let hits = 0;
      for (let i = 0; i < n; i++) if (pred[i] === labels[i]) hits++;
      // ColorMNIST draws colours per batch from its seed, so another batching colours the digits differently:
      // the digit accuracy may move by a few images (tolerance 1 %)
      expect(Math.abs(hits / n - clf.accuracy)).toBeLessThan(0.01);
      const feats = clf.features(x);
      expect(feats.shape).toEqual([n, 128]);
      tf.dispose([x, y!, probs, feats]);

      // second call: loaded from disk, no training, same network
      const t0 = performance.now();
      const again = await getDatasetClassifier(dataset, { steps: STEPS, seed: 1, cacheDir });
      const loadMs = performance.now() - t0;
      console.log(`dataset classifier cache hit: ${loadMs.toFixed(0)} ms`);
      expect(again.fromCache).toBe(true);
      expect(again.name).toBe(clf.name);
      expect(again.accuracy).toBe(clf.accuracy);
      const probe = dataset.test.sample(16, 3).x;
      const a = clf.predictProbs(probe);
      const b = again.predictProbs(probe);
      expect(a.sub(b).abs().max().dataSync()[0]).toBeLessThan(1e-6);
      tf.dispose([probe, a, b]);
      again.dispose();
      expect((await readdir(cacheDir)).filter((d) => d.includes('classifier'))).toHaveLength(1);

      // another seed is another cache entry
      const other = await getDatasetClassifier(dataset, { steps: 2, seed: 2, cacheDir });
      expect(other.fromCache).toBe(false);
      expect(other.name).not.toBe(clf.name);
      other.dispose();
    },
    SLOW,
  );

  it('Inception score of shuffled real test digits is high and matches a float64 computation', () => {
    const n = 1000;
    const batch = dataset.test.sample(n, 5); // a seeded permutation: the split itself is class-ordered
    const is = inceptionScore(batch.x, clf, { splits: 10, batchSize: 250 });
    const { probs } = classifyInBatches(clf, (s, c) => batch.x.slice([s, 0, 0, 0], [c, -1, -1, -1]), n, {
      probs: true,
    });
    const ref = referenceIS(probs!.data, n, 10, 10);
    console.log(
      `IS(real ColorMNIST test, n=${n}) = ${is.mean.toFixed(4)} ± ${is.std.toFixed(4)}; reference ${ref.mean.toFixed(4)}`,
    );
    expect(is.classifier).toBe(clf.name);
    expect(Math.abs(is.mean - ref.mean) / ref.mean).toBeLessThan(1e-6);
    expect(Math.abs(is.std - ref.std)).toBeLessThan(1e-6 * ref.mean);
    expect(is.mean).toBeGreaterThan(7);
    expect(is.mean).toBeLessThanOrEqual(10);
    tf.dispose([batch.x, batch.y!]);
  });

  it('Inception score of copies of one image is 1', () => {
    const one = dataset.test.sample(1, 9).x;
    const copies = tf.tile(one, [200, 1, 1, 1]) as Tensor4D;
    const is = inceptionScore(copies, clf, 10);
    expect(Math.abs(is.mean - 1)).toBeLessThan(1e-6);
    expect(is.std).toBeLessThan(1e-6);
    tf.dispose([one, copies]);
  });

  it('refuses a dataset without labels and bad options', async () => {
    const synthetic = await loadDataset({ name: 'synthetic', resolution: 28, size: 60 });
    // an image folder (CelebA) has no labels: the same dataset with numClasses null
    const unlabelled: Dataset = {
      ...synthetic,
      name: 'folder',
      numClasses: null,
      train: synthetic.train,
      validation: synthetic.validation,
      test: synthetic.test,
    };
    await expect(getDatasetClassifier(unlabelled, { steps: 1, seed: 0, cacheDir })).rejects.toThrow(
      /no class labels.*mobilenet/,
    );
    await expect(getDatasetClassifier(dataset, { steps: 0, seed: 0, cacheDir })).rejects.toThrow(/'steps'/);
    const wrong = tf.zeros([2, 32, 32, 3]) as Tensor4D;
    expect(() => clf.predictProbs(wrong)).toThrow(/expects images of shape \[n, 28, 28, 3\]; got \[2, 32, 32, 3\]/);
    wrong.dispose();
  });
});
