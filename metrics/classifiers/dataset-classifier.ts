/**
 * A classifier per labelled dataset that ganstudy trains itself on the training split (ColorMNIST: the digit, or
 * the three digits of stacked MNIST; CIFAR-10: the class), for the paper's classifier-based Inception-style scores
 * (paper-spec §5.1: "a classifier trained on CIFAR-10", "a classifier trained on ColorMNIST" — which networks the
 * paper used is not known, so this one is small, documented and reported by name with its held-out accuracy).
 *
 * Network: conv3×3(32, s2) → ReLU → conv3×3(64, s2) → ReLU → flatten → dense 128 → ReLU (the features) →
 * dense numClasses (logits). Adam 1e-3, softmax cross-entropy, seeded initialisation and batch order.
 *
 * Cached on disk under `cacheDir/<key>/` (TF.js layers model + meta.json), the key hashing everything that
 * determines the weights: dataset name, source (provenance string, including its split seed), image shape,
 * number of classes, training steps, batch size, seed and the network version. A second call with the same inputs
 * loads the cached network and trains nothing. The accuracy on the whole test split is measured once, stored in
 * meta.json and exposed as `classifier.accuracy`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { LayersModel, Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../../src/backend/index.js';
import type { ImageSplit, LabelledImageData, LabelledSplit } from '../sources.js';
import { createRng } from '../../src/util/rng.js';
import type { Classifier } from './types.js';

/** bump when the network or its training changes, so old cache entries are not reused */
const NETWORK_VERSION = 1;
const FEATURES_LAYER = 'features';

const OptionsSchema = z.object({
  steps: z.number().int().positive(),
  seed: z.number().int().nonnegative(),
  cacheDir: z.string().min(1),
  batchSize: z.number().int().positive().default(64),
  lr: z.number().positive().default(1e-3),
  /** called with training progress and cache hits */
  onProgress: z.custom<(msg: string) => void>((v) => v === undefined || typeof v === 'function').optional(),
});
export type DatasetClassifierOptions = z.input<typeof OptionsSchema>;

const MetaSchema = z.object({
  name: z.string(),
  key: z.string(),
  dataset: z.string(),
  source: z.string(),
  numClasses: z.number().int().positive(),
  shape: z.tuple([z.number(), z.number(), z.number()]),
  steps: z.number().int(),
  batchSize: z.number().int(),
  seed: z.number().int(),
  accuracy: z.number(),
  testSize: z.number().int(),
  finalLoss: z.number(),
  trainSeconds: z.number(),
  networkVersion: z.number().int(),
});
export type DatasetClassifierMeta = z.infer<typeof MetaSchema>;

export interface DatasetClassifier extends Classifier {
  readonly accuracy: number;
  readonly meta: DatasetClassifierMeta;
  /** true when the network came from the cache (no training in this call) */
  readonly fromCache: boolean;
}

function labelKind(dataset: LabelledImageData): string {
  if (dataset.name === 'colormnist') return dataset.numClasses === 10 ? 'digit' : 'digits3';
  return 'class';
}

export function datasetClassifierKey(
  dataset: LabelledImageData,
  steps: number,
  batchSize: number,
  seed: number,
  lr: number,
): string {
  const identity = {
    dataset: dataset.name,
    source: dataset.source,
    shape: dataset.shape,
    numClasses: dataset.numClasses,
    steps,
    batchSize,
    seed,
    lr,
    networkVersion: NETWORK_VERSION,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** Trains (or loads from the cache) the classifier for `dataset`. */
export async function getDatasetClassifier(
  dataset: LabelledImageData,
  options: DatasetClassifierOptions,
): Promise<DatasetClassifier> {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`getDatasetClassifier: option '${issue?.path.join('.')}' is invalid: ${issue?.message}`);
  }
  const o = parsed.data;
  const numClasses = dataset.numClasses;
  if (numClasses === null || numClasses < 2) {
    throw new Error(
      `getDatasetClassifier: dataset '${dataset.name}' has no class labels, so ganstudy cannot train a classifier for it; ` +
        'score it with an ImageNet classifier instead (loadMobileNetClassifier, or --classifier mobilenet:<dir> on the CLI)',
    );
  }
  const key = datasetClassifierKey(dataset, o.steps, o.batchSize, o.seed, o.lr);
  const name = `${dataset.name}-${labelKind(dataset)}-cnn@${key}`;
  const dir = path.join(path.resolve(o.cacheDir), `${dataset.name}-classifier-${key}`);

  const cached = await loadCached(dir);
  if (cached) {
    o.onProgress?.(`classifier ${name}: loaded from ${dir} (held-out accuracy ${cached.meta.accuracy.toFixed(4)})`);
    return wrap(cached.model, cached.meta, true);
  }

  const t0 = performance.now();
  const model = buildNetwork(dataset.shape, numClasses, o.seed);
  const finalLoss = trainNetwork(model, dataset.train, numClasses, o.steps, o.batchSize, o.lr, o.seed, (step, loss) =>
    o.onProgress?.(`classifier ${name}: step ${step}/${o.steps} loss ${loss.toFixed(4)}`),
  );
  const accuracy = evaluateAccuracy(model, dataset.test);
  const meta: DatasetClassifierMeta = {
    name,
    key,
    dataset: dataset.name,
    source: dataset.source,
    numClasses,
    shape: [...dataset.shape] as [number, number, number],
    steps: o.steps,
    batchSize: o.batchSize,
    seed: o.seed,
    accuracy,
    testSize: dataset.test.size,
    finalLoss,
    trainSeconds: (performance.now() - t0) / 1000,
    networkVersion: NETWORK_VERSION,
  };
  o.onProgress?.(
    `classifier ${name}: trained in ${meta.trainSeconds.toFixed(1)} s, held-out accuracy ${accuracy.toFixed(4)}`,
  );
  await saveAtomically(model, meta, dir);
  return wrap(model, meta, false);
}

function buildNetwork(shape: readonly [number, number, number], numClasses: number, seed: number): LayersModel {
  const rng = createRng(seed);
  const init = () => tf.initializers.glorotUniform({ seed: rng.seed() });
  const input = tf.input({ shape: [...shape] });
  const conv = (filters: number) =>
    tf.layers.conv2d({
      filters,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(),
    });
  let h = conv(32).apply(input);
  h = conv(64).apply(h);
  h = tf.layers.flatten().apply(h);
  const features = tf.layers
    .dense({ units: 128, activation: 'relu', kernelInitializer: init(), name: FEATURES_LAYER })
    .apply(h);
  const logits = tf.layers.dense({ units: numClasses, kernelInitializer: init(), name: 'logits' }).apply(features);
  return tf.model({ inputs: input, outputs: logits as ReturnType<typeof tf.input> });
}

function trainNetwork(
  model: LayersModel,
  split: LabelledSplit,
  numClasses: number,
  steps: number,
  batchSize: number,
  lr: number,
  seed: number,
  progress: (step: number, loss: number) => void,
): number {
  if (split.size === 0) throw new Error(`getDatasetClassifier: the training split is empty`);
  const optimizer = tf.train.adam(lr);
  const batches = split.batches(batchSize, seed);
  const every = Math.max(1, Math.floor(steps / 10));
  let last = NaN;
  try {
    for (let step = 1; step <= steps; step++) {
      const { x, y } = batches.next().value as { x: Tensor4D; y?: Tensor };
      if (!y) {
        x.dispose();
        throw new Error(`getDatasetClassifier: split '${split.name}' gave a batch without labels`);
      }
      const lossT = optimizer.minimize(() => {
        const onehot = tf.oneHot(y.toInt().reshape([-1]), numClasses);
        return tf.losses.softmaxCrossEntropy(onehot, model.apply(x, { training: true }) as Tensor2D) as Scalar;
      }, true);
      if (step % every === 0 || step === steps) {
        last = lossT!.dataSync()[0];
        if (!Number.isFinite(last))
          throw new Error(`getDatasetClassifier: the training loss became ${last} at step ${step}`);
        progress(step, last);
      }
      tf.dispose([x, y, lossT!]);
    }
  } finally {
    optimizer.dispose();
  }
  return last;
}

/** Fraction of the split's images whose arg-max class equals the label (every image, in batches). */
function evaluateAccuracy(model: LayersModel, split: ImageSplit, batchSize = 500): number {
  let correct = 0;
  for (let start = 0; start < split.size; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, split.size - start) }, (_, i) => start + i);
    const { x, y } = split.batch(idx, start);
    if (!y) throw new Error(`getDatasetClassifier: the test split has no labels`);
    const hits = tf.tidy(
      () => (model.predict(x, { batchSize: x.shape[0] }) as Tensor2D).argMax(1).equal(y.toInt()).sum().dataSync()[0],
    );
    correct += hits;
    tf.dispose([x, y]);
  }
  return correct / split.size;
}

function wrap(model: LayersModel, meta: DatasetClassifierMeta, fromCache: boolean): DatasetClassifier {
  const featureModel = tf.model({
    inputs: model.inputs,
    outputs: model.getLayer(FEATURES_LAYER).output as ReturnType<typeof tf.input>,
  });
  const check = (x: Tensor4D): void => {
    const [, h, w, c] = x.shape;
    if (x.rank !== 4 || h !== meta.shape[0] || w !== meta.shape[1] || c !== meta.shape[2]) {
      throw new Error(
        `classifier ${meta.name}: expects images of shape [n, ${meta.shape.join(', ')}]; got [${x.shape.join(', ')}]`,
      );
    }
  };
  return {
    name: meta.name,
    numClasses: meta.numClasses,
    accuracy: meta.accuracy,
    meta,
    fromCache,
    predictProbs(x) {
      check(x);
      return tf.tidy(() => tf.softmax(model.predict(x, { batchSize: x.shape[0] }) as Tensor2D) as Tensor2D);
    },
    features(x) {
      check(x);
      return featureModel.predict(x, { batchSize: x.shape[0] }) as Tensor2D;
    },
    dispose() {
      model.dispose();
    },
  };
}

async function loadCached(dir: string): Promise<{ model: LayersModel; meta: DatasetClassifierMeta } | null> {
  try {
    await stat(path.join(dir, 'model.json'));
  } catch {
    return null;
  }
  const metaFile = path.join(dir, 'meta.json');
  const parsed = MetaSchema.safeParse(JSON.parse(await readFile(metaFile, 'utf8')));
  if (!parsed.success || parsed.data.networkVersion !== NETWORK_VERSION) {
    throw new Error(
      `getDatasetClassifier: the cache entry ${metaFile} is unreadable or stale; delete ${dir} and run again`,
    );
  }
  const model = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
  return { model, meta: parsed.data };
}

/** Written to a temporary sibling and renamed, so a concurrent reader never sees half a cache entry. */
async function saveAtomically(model: LayersModel, meta: DatasetClassifierMeta, dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  await model.save(`file://${tmp}`);
  await writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
  try {
    await rename(tmp, dir);
  } catch (e) {
    // another process won the race with an identical entry: keep theirs
    await rm(tmp, { recursive: true, force: true });
    if ((e as { code?: string }).code !== 'ENOTEMPTY' && (e as { code?: string }).code !== 'EEXIST') throw e;
  }
}
