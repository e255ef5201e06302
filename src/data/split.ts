/**
 * One implementation of the DatasetSplit contract for every dataset: the pixels stay in memory as
 * compact arrays (uint8 where possible) and a float32 tensor in [-1, 1] is built per batch only, so
 * CelebA at 64×64 costs 1.2 KB × N of memory rather than 4× that.
 *
 * Determinism: the stream of `batches(B, seed)` is the concatenation of epoch permutations, epoch e
 * drawn from (seed, e); batch b covers positions [bB, (b+1)B) of that stream and draws any per-batch
 * randomness (ColorMNIST colours) from (seed, b). Batch b therefore depends only on (seed, b), which is
 * what makes `startBatch` an exact skip-ahead for a resumed run.
 */
import { tf } from '../backend/index.js';
import { createRng, permutation } from '../util/rng.js';
import type { Batch, DatasetSplit, SplitName } from './types.js';

/** Fills `out` (n × H × W × C, float32 in [-1, 1]) and `labels` for split-local indices. */
export type Renderer = (indices: ArrayLike<number>, seed: number, out: Float32Array, labels: Int32Array | null) => void;

export interface SplitOptions {
  name: SplitName;
  size: number;
  shape: readonly [number, number, number];
  hasLabels: boolean;
  render: Renderer;
}

/** A 32-bit seed from several integers (order matters); splitmix-style mixing so nearby inputs decorrelate. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x9e3779b1) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    // fold in the high part of large integers (batch indices can exceed 2^32 only in theory, but be exact)
    const hi = Math.floor(p / 4294967296);
    if (hi !== 0) h = Math.imul(h ^ hi, 0xc2b2ae35) >>> 0;
  }
  return h >>> 0;
}

/** byte → [-1, 1], the inverse of images.ts' round((x + 1) · 127.5) */
export const BYTE_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 127.5 - 1;
  return t;
})();

export function createSplit(opts: SplitOptions): DatasetSplit {
  const { name, size, shape, hasLabels, render } = opts;
  const [h, w, c] = shape;
  const pixels = h * w * c;

  const makeBatch = (indices: ArrayLike<number>, seed: number): Batch => {
    const n = indices.length;
    for (let i = 0; i < n; i++) {
      const k = indices[i];
      if (!Number.isInteger(k) || k < 0 || k >= size) {
        throw new RangeError(`${name} split: index ${k} out of range [0, ${size})`);
      }
    }
    const out = new Float32Array(n * pixels);
    const labels = hasLabels ? new Int32Array(n) : null;
    render(indices, seed >>> 0, out, labels);
    const x = tf.tensor4d(out, [n, h, w, c], 'float32');
    return labels ? { x, y: tf.tensor1d(labels, 'int32') } : { x };
  };

  return {
    name,
    size,
    batch: (indices, seed = 0) => makeBatch(indices, seed),
    batches(batchSize: number, seed: number, startBatch = 0): IterableIterator<Batch> {
      if (!Number.isInteger(batchSize) || batchSize < 1)
        throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
      if (!Number.isInteger(startBatch) || startBatch < 0)
        throw new RangeError(`startBatch must be a non-negative integer, got ${startBatch}`);
      if (size === 0) throw new Error(`${name} split is empty: no batches can be drawn`);
      let epoch = -1;
      let perm: Int32Array = new Int32Array(0);
      const indexAt = (pos: number): number => {
        const e = Math.floor(pos / size);
        if (e !== epoch) {
          epoch = e;
          perm = permutation(size, createRng(deriveSeed(seed, 0x45504f43, e)));
        }
        return perm[pos - e * size];
      };
      let b = startBatch;
      // also iterable, so `for (const batch of split.batches(...))` works (the caller breaks out)
      return {
        [Symbol.iterator]() {
          return this;
        },
        next(): IteratorResult<Batch> {
          const idx = new Int32Array(batchSize);
          const start = b * batchSize;
          for (let j = 0; j < batchSize; j++) idx[j] = indexAt(start + j);
          const batch = makeBatch(idx, deriveSeed(seed, 0x42415443, b));
          b++;
          return { done: false, value: batch };
        },
      };
    },
    sample(n: number, seed: number): Batch {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`sample size must be a non-negative integer, got ${n}`);
      if (size === 0) throw new Error(`${name} split is empty: cannot sample`);
      const rng = createRng(deriveSeed(seed, 0x53414d50));
      let idx: Int32Array;
      if (n <= size) {
        idx = permutation(size, rng).subarray(0, n);
      } else {
        idx = new Int32Array(n);
        for (let i = 0; i < n; i++) idx[i] = rng.int(size);
      }
      return makeBatch(idx, deriveSeed(seed, 0x434f4c52));
    },
  };
}

/**
 * Renderer for datasets stored as uint8 rows (CIFAR-10, image folders, synthetic): split index i
 * reads storage row rows[i]; no per-batch randomness.
 */
export function uint8Renderer(
  store: Uint8Array,
  rowBytes: number,
  rows: Int32Array,
  storeLabels: ArrayLike<number> | null,
): Renderer {
  return (indices, _seed, out, labels) => {
    for (let i = 0; i < indices.length; i++) {
      const r = rows[indices[i]];
      const src = r * rowBytes;
      const dst = i * rowBytes;
      for (let p = 0; p < rowBytes; p++) out[dst + p] = BYTE_TO_UNIT[store[src + p]];
      if (labels && storeLabels) labels[i] = storeLabels[r];
    }
  };
}

/**
 * Split `n` items into train / validation / test by a seeded permutation. Each split's rows are sorted
 * so that storage access is sequential and the split is a set, not an order.
 */
export function splitRows(
  n: number,
  seed: number,
  validation: number,
  test: number,
): { train: Int32Array; validation: Int32Array; test: Int32Array } {
  if (validation + test > n) throw new Error(`cannot carve ${validation} validation + ${test} test items out of ${n}`);
  const perm = permutation(n, createRng(deriveSeed(seed, 0x53504c54)));
  const sorted = (a: Int32Array): Int32Array => a.slice().sort();
  return {
    validation: sorted(perm.subarray(0, validation)),
    test: sorted(perm.subarray(validation, validation + test)),
    train: sorted(perm.subarray(validation + test)),
  };
}

export function range(from: number, to: number): Int32Array {
  const a = new Int32Array(Math.max(0, to - from));
  for (let i = 0; i < a.length; i++) a[i] = from + i;
  return a;
}
