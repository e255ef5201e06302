/**
 * Running a classifier over many images in bounded memory, and the Inception score from images.
 * Images come either as one batch (tensor / arrays, see inputs.ts) or as a source function that renders a chunk
 * on demand, so 50,000 generated images never sit in memory at once.
 */
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../../src/backend/index.js';
import { toImageBatch } from '../inputs.js';
import { inceptionScoreFromProbs } from '../inception-score.js';
import type { Classifier } from './types.js';

/** Renders images [start, start + count) of a set of n, NHWC in [-1, 1]; the caller disposes the result. */
export type ImageSource = (start: number, count: number) => Tensor4D;

export interface ClassifierOutputs {
  /** n × numClasses, row-major */
  probs?: { data: Float32Array; shape: [number, number] };
  /** n × D, row-major */
  features?: { data: Float32Array; shape: [number, number] };
}

/** Class probabilities and/or features of n images, computed `batchSize` images at a time. */
export function classifyInBatches(
  classifier: Classifier,
  source: ImageSource,
  n: number,
  want: { probs?: boolean; features?: boolean },
  batchSize = 100,
): ClassifierOutputs {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`classifyInBatches: n must be a positive integer; got ${n}`);
  const probs: Float32Array[] = [];
  const feats: Float32Array[] = [];
  let pCols = 0;
  let fCols = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const x = source(start, count);
    if (x.shape[0] !== count) {
      x.dispose();
      throw new Error(`classifyInBatches: the image source returned ${x.shape[0]} images for a request of ${count}`);
    }
    if (want.probs) {
      const p: Tensor2D = classifier.predictProbs(x);
      pCols = p.shape[1];
      probs.push(p.dataSync() as Float32Array);
      p.dispose();
    }
    if (want.features) {
      const f: Tensor2D = classifier.features(x);
      fCols = f.shape[1];
      feats.push(f.dataSync() as Float32Array);
      f.dispose();
    }
    x.dispose();
  }
  const join = (parts: Float32Array[], cols: number) => {
    const data = new Float32Array(n * cols);
    let off = 0;
    for (const p of parts) {
      data.set(p, off);
      off += p.length;
    }
    return { data, shape: [n, cols] as [number, number] };
  };
  return {
    ...(want.probs ? { probs: join(probs, pCols) } : {}),
    ...(want.features ? { features: join(feats, fCols) } : {}),
  };
}

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

/**
 * Inception score of images (NHWC in [-1, 1]) under `classifier`: its class probabilities fed to
 * `inceptionScoreFromProbs` (float64 sums). `images` is a batch (tensor, nested arrays, {data, shape}) or a source
 * function with its count `{ source, n }`.
 */
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
  return typeof v === 'object' && v !== null && typeof (v as { source?: unknown }).source === 'function' && typeof (v as { n?: unknown }).n === 'number';
}
