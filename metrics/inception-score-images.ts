/**
 * The Inception(-style) score of images (paper-spec §5.1): a classifier's class probabilities of the images fed to
 * `inceptionScoreFromProbs` (float64 sums). Images come as one batch (tensor, nested arrays, {data, shape}) or as
 * a source function with its count `{ source, n }`, so many generated images never sit in memory at once.
 */
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { classifyInBatches } from './classifiers/apply.js';
import type { Classifier } from './classifiers/types.js';
import { inceptionScoreFromProbs } from './inception-score.js';
import { toImageBatch } from './inputs.js';
import type { ImageSource } from './sources.js';

export interface InceptionScoreOptions {
  /** paper-spec §5.1: 10 contiguous splits, in the order given (shuffle class-ordered images first) */
  splits?: number;
  batchSize?: number;
}

export interface ImageInceptionScore {
  mean: number;
  std: number;
  perSplit: number[];
  /** which network produced the probabilities */
  classifier: string;
  n: number;
}

/** Inception score of images (NHWC in [-1, 1]) under `classifier`; `images` is a batch or `{ source, n }`. */
export function inceptionScore(
  images: unknown,
  classifier: Classifier,
  options: InceptionScoreOptions | number = {},
): ImageInceptionScore {
  const opts: InceptionScoreOptions = typeof options === 'number' ? { splits: options } : options;
  const splits = opts.splits ?? 10;
  const batchSize = opts.batchSize ?? 100;
  let source: ImageSource;
  let n: number;
  let owned: Tensor4D | null = null;
  if (isSourced(images)) {
    source = images.source;
    n = images.n;
  } else {
    owned = toImageBatch(images, 'inceptionScore images');
    const all = owned;
    n = all.shape[0];
    source = (start, count) => tf.slice(all, [start, 0, 0, 0], [count, -1, -1, -1]);
  }
  try {
    const { probs } = classifyInBatches(classifier, source, n, { probs: true }, batchSize);
    const is = inceptionScoreFromProbs(probs!, splits);
    return { mean: is.mean, std: is.std, perSplit: is.perSplit, classifier: classifier.name, n };
  } finally {
    owned?.dispose();
  }
}

function isSourced(v: unknown): v is { source: ImageSource; n: number } {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { source?: unknown }).source === 'function' &&
    typeof (v as { n?: unknown }).n === 'number'
  );
}
