/**
 * The dataset contract shared by training, evaluation and sweeps.
 * Images are NHWC float32 in [-1, 1]. Splits are fixed by the dataset seed.
 */
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs-node';

export type DatasetName = 'colormnist' | 'cifar10' | 'celeba' | 'folder' | 'synthetic';
export type SplitName = 'train' | 'validation' | 'test';

export interface Batch {
  /** NHWC float32 in [-1, 1]; the caller disposes it */
  x: Tensor4D;
  /** class labels where the dataset has them (ColorMNIST digit, CIFAR-10 class) */
  y?: Tensor1D;
}

export interface DatasetSplit {
  readonly name: SplitName;
  readonly size: number;
  /** the examples at these indices, as one batch (ColorMNIST draws colours from `seed`) */
  batch(indices: ArrayLike<number>, seed?: number): Batch;
  /**
   * An endless stream of shuffled batches: each epoch is a fresh permutation drawn from `seed`.
   * `startBatch` skips ahead deterministically, so a resumed run sees the same data it would have seen.
   */
  batches(batchSize: number, seed: number, startBatch?: number): Iterator<Batch>;
  /** n examples drawn without replacement (with replacement if n > size) from `seed` */
  sample(n: number, seed: number): Batch;
}

export interface Dataset {
  readonly name: DatasetName;
  /** [height, width, channels] */
  readonly shape: readonly [number, number, number];
  readonly numClasses: number | null;
  readonly train: DatasetSplit;
  readonly validation: DatasetSplit;
  readonly test: DatasetSplit;
  /** human-readable provenance: where the bytes came from */
  readonly source: string;
}
