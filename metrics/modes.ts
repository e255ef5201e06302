/**
 * Colour-aware mode count for ColorMNIST (paper-spec §6: 10 digits × 7 colours = 70 modes). The digit classifier
 * is blind to colour, so a generator that draws every digit in one colour scores a perfect Inception-style score;
 * this counts the (digit, colour) classes that N samples cover instead:
 *
 *   digit  = arg-max of the dataset classifier's probabilities
 *   colour = which channels are lit on the digit's bright pixels: pixels whose brightest channel exceeds the
 *            middle grey; a channel is lit when its mean over those pixels is at least half the brightest
 *            channel's mean; colour id = r + 2g + 4b ∈ 1..7 (0: no bright pixel, or nothing lit — not a mode)
 *   modes_covered = number of (digit, colour ∈ 1..7) classes with at least `minCount` samples (higher is better)
 *
 * The real-data reference is the same count on real images at the same N.
 */
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import type { Classifier } from './classifiers/types.js';
import type { ImageSource } from './sources.js';

export const COLOUR_COUNT = 7;

export interface ModesCoveredResult {
  /** classes with at least minCount samples */
  covered: number;
  /** numClasses × 7 possible classes */
  total: number;
  /** samples per class, row-major [digit][colour − 1] */
  counts: Int32Array;
  /** samples whose colour could not be read (blank or unlit images): they cover nothing */
  uncoloured: number;
  n: number;
}

/** Colour id 1..7 (r + 2g + 4b) of each image's bright pixels, 0 where there are none. Images NHWC RGB in [-1, 1]. */
export function dominantColours(images: Tensor4D): Int32Array {
  if (images.rank !== 4 || images.shape[3] !== 3) {
    throw new RangeError(`dominantColours: expected RGB images [n, h, w, 3]; got shape [${images.shape.join(', ')}]`);
  }
  const means = tf.tidy(() => {
    const v = tf.div(tf.add(images, 1), 2);
    const bright = tf.cast(tf.greater(tf.max(v, 3, true), 0.5), 'float32');
    const count = tf.maximum(tf.sum(bright, [1, 2]), 1);
    return tf.div(tf.sum(tf.mul(v, bright), [1, 2]), count);
  });
  const m = means.dataSync();
  means.dispose();
  const out = new Int32Array(images.shape[0]);
  for (let i = 0; i < out.length; i++) {
    const r = m[3 * i]!;
    const g = m[3 * i + 1]!;
    const b = m[3 * i + 2]!;
    const peak = Math.max(r, g, b);
    if (!(peak > 0.5)) continue;
    out[i] = (r >= peak / 2 ? 1 : 0) + (g >= peak / 2 ? 2 : 0) + (b >= peak / 2 ? 4 : 0);
  }
  return out;
}

/** (digit, colour) classes covered by n images from `source`, read `batchSize` at a time. */
export function modesCovered(
  source: ImageSource,
  n: number,
  classifier: Classifier,
  options: { minCount?: number; batchSize?: number } = {},
): ModesCoveredResult {
  const minCount = options.minCount ?? 3;
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`modesCovered: n must be a positive integer; got ${n}`);
  if (!Number.isInteger(minCount) || minCount < 1)
    throw new RangeError(`modesCovered: minCount must be a positive integer; got ${minCount}`);
  const digits = classifier.numClasses;
  const counts = new Int32Array(digits * COLOUR_COUNT);
  let uncoloured = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const x = source(start, count);
    try {
      if (x.shape[0] !== count)
        throw new Error(`modesCovered: the image source returned ${x.shape[0]} images for ${count}`);
      const colours = dominantColours(x);
      const labels = tf.tidy(() => tf.argMax(classifier.predictProbs(x), 1));
      const d = labels.dataSync();
      labels.dispose();
      for (let i = 0; i < count; i++) {
        if (colours[i] === 0) uncoloured++;
        else counts[d[i]! * COLOUR_COUNT + colours[i]! - 1]++;
      }
    } finally {
      x.dispose();
    }
  }
  let covered = 0;
  for (const c of counts) if (c >= minCount) covered++;
  return { covered, total: counts.length, counts, uncoloured, n };
}
