/**
 * What metrics/ needs from its callers, as small structural interfaces: images come from a generator (a sampler)
 * or from a split of real images; the dataset classifier needs labelled data; the independent critic needs a
 * network builder. src/data's datasets and src/models' networks satisfy these without metrics/ importing them,
 * so the metrics run on their own (tests and other projects pass their own).
 * Images are NHWC float32 in [-1, 1]; whoever receives a tensor disposes it.
 */
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { createRng, permutation } from '../src/util/rng.js';

/** n fresh images of a generator; the same seed gives the same images. */
export type ImageSampler = (n: number, seed: number) => Tensor4D;

/** Some images, with labels where the data has them. */
export interface ImageBatch {
  x: Tensor4D;
  y?: Tensor;
}

/** A fixed set of real images addressable by index (src/data's DatasetSplit is one). */
export interface ImageSplit {
  /** for messages, e.g. 'validation' */
  readonly name?: string;
  readonly size: number;
  /** the images at these indices; `seed` fixes anything drawn per example (ColorMNIST colours) */
  batch(indices: ArrayLike<number>, seed?: number): ImageBatch;
}

/** A labelled split that streams shuffled training batches (src/data's DatasetSplit is one). */
export interface LabelledSplit extends ImageSplit {
  batches(batchSize: number, seed: number): Iterator<ImageBatch>;
}

/** What the dataset classifier trains and tests on (src/data's Dataset is one). */
export interface LabelledImageData {
  readonly name: string;
  /** provenance, part of the classifier's cache key */
  readonly source: string;
  /** [height, width, channels] */
  readonly shape: readonly [number, number, number];
  readonly numClasses: number | null;
  readonly train: LabelledSplit;
  readonly test: ImageSplit;
}

/** What a critic builder is asked for: the image shape, the protocol's width multiplier and an init seed. */
export interface CriticSpec {
  shape: readonly [number, number, number];
  /** width multiplier of the protocol's critic (1 = the paper's discriminator width) */
  width: number;
  seed: number;
}

/**
 * Builds the independent critic: a network with one linear output per image, no batch norm, whose gradient is
 * itself differentiable (the gradient penalty needs double backprop). The caller owns the architecture
 * (`ganstudy evaluate` and the sweep pass the dataset's discriminator from src/models).
 */
export type CriticBuilder = (spec: CriticSpec) => LayersModel | Promise<LayersModel>;

/** Renders images [start, start + count) of a set of n, NHWC in [-1, 1]; the caller disposes the result. */
export type ImageSource = (start: number, count: number) => Tensor4D;

/** Generator samples as a chunked source: chunk k gets its own seed, so any n is reproducible. */
export function samplerSource(sample: ImageSampler, seed: number): ImageSource {
  return (start, count) => sample(count, (seed + start) >>> 0);
}

/**
 * n indices of a split of `size` images in a seeded random order: without replacement when n ≤ size (a
 * permutation prefix), otherwise every image once per pass through fresh permutations (with replacement overall).
 */
export function drawIndices(size: number, n: number, seed: number): Int32Array {
  if (size < 1) throw new RangeError(`drawIndices: the split is empty`);
  const rng = createRng(seed);
  const out = new Int32Array(n);
  for (let filled = 0; filled < n; ) {
    const p = permutation(size, rng);
    const take = Math.min(size, n - filled);
    out.set(p.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

/** The images of `split` at `indices`, as a chunked source (labels dropped). */
export function indexedSource(split: ImageSplit, indices: Int32Array, seed: number): ImageSource {
  return (start, count) => {
    const b = split.batch(indices.subarray(start, start + count), (seed + start) >>> 0);
    b.y?.dispose();
    return b.x;
  };
}

/** An endless stream of batches of distinct images, a fresh permutation per epoch (batches never straddle epochs). */
export function* shuffledBatches(split: ImageSplit, batchSize: number, seed: number): Generator<Tensor4D> {
  if (split.size < batchSize) {
    throw new RangeError(`split '${split.name ?? '?'}' has ${split.size} images, fewer than a batch of ${batchSize}`);
  }
  const rng = createRng(seed);
  for (;;) {
    const p = permutation(split.size, rng);
    for (let i = 0; i + batchSize <= split.size; i += batchSize) {
      const b = split.batch(p.subarray(i, i + batchSize), rng.seed());
      b.y?.dispose();
      yield b.x;
    }
  }
}
