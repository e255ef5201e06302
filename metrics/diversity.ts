/**
 * MS-SSIM sample diversity (paper-spec §5.2; compare_gan `ms_ssim_score.py`, following Fedus*, Rosca* et al.):
 *
 *     for b in 1..batches:  a batch of batchSize images, mapped from [-1, 1] to [0, 255]
 *         score_b = mean of MS-SSIM(img_i, img_j) over all ordered pairs i ≠ j
 *     diversity = mean_b score_b        (lower = more diverse)
 *
 * MS-SSIM is symmetric, so each unordered pair is computed once: the mean over ordered distinct pairs equals the
 * mean over unordered ones (compare_gan computes all n² pairs and subtracts the n diagonal ones, assumed 1).
 *
 * Images come either as one NHWC tensor / array (batches are consecutive slices in the given order: shuffle first
 * if the order is not random) or from a sampler `(n, seed) => Tensor4D` called once per batch with seed + b.
 * Values are mapped with (x + 1)·127.5 and not clipped.
 */
import { z } from 'zod';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { describeShape, toImageBatch } from './inputs.js';
import { msSsimIndexedPairs, type MsSsimOptions } from './msssim.js';
import type { ImageSampler } from './sources.js';

export type { ImageSampler } from './sources.js';

export const SampleDiversityOptionsSchema = z.strictObject({
  batches: z.number().int().positive().default(5),
  batchSize: z.number().int().min(2).default(64),
  convention: z.enum(['compare_gan', 'wang']).default('compare_gan'),
  /** seed handed to a sampler (batch b gets seed + b); ignored for a fixed set of images */
  seed: z.number().int().default(0),
});
export type SampleDiversityOptions = z.input<typeof SampleDiversityOptionsSchema>;

export interface SampleDiversityResult {
  /** mean over batches of the per-batch mean pairwise MS-SSIM */
  mean: number;
  perBatch: number[];
}

/** Mean MS-SSIM over the distinct pairs of one batch already in [0, 255]. */
export function meanPairwiseMsSsim(batch: Tensor4D, options?: Omit<MsSsimOptions, 'maxVal'>): number {
  const n = batch.shape[0];
  if (n < 2) throw new RangeError(`meanPairwiseMsSsim: need at least 2 images; got ${describeShape(batch)}`);
  const is: number[] = [];
  const js: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      is.push(i);
      js.push(j);
    }
  }
  const scores = msSsimIndexedPairs(batch, is, js, { ...options, maxVal: 255 });
  let sum = 0;
  for (const s of scores) sum += s;
  return sum / scores.length;
}

export function sampleDiversity(images: unknown, options?: SampleDiversityOptions): SampleDiversityResult {
  const parsed = SampleDiversityOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    throw new TypeError(
      `sampleDiversity: invalid options: ${parsed.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const o = parsed.data;
  const perBatch: number[] = [];
  if (typeof images === 'function') {
    const sampler = images as ImageSampler;
    for (let b = 0; b < o.batches; b++) {
      const raw = sampler(o.batchSize, o.seed + b);
      const batch = toImageBatch(raw, `sampleDiversity sampler(${o.batchSize}, ${o.seed + b})`);
      if (raw instanceof tf.Tensor) raw.dispose();
      try {
        if (batch.shape[0] !== o.batchSize) {
          throw new RangeError(
            `sampleDiversity: sampler(${o.batchSize}, ${o.seed + b}) returned ${describeShape(batch)}, expected ${o.batchSize} images`,
          );
        }
        const scaled = tf.tidy(() => tf.mul(tf.add(batch, 1), 127.5) as Tensor4D);
        try {
          perBatch.push(meanPairwiseMsSsim(scaled, { convention: o.convention }));
        } finally {
          scaled.dispose();
        }
      } finally {
        batch.dispose();
      }
    }
  } else {
    const all = toImageBatch(images, 'sampleDiversity images');
    try {
      const need = o.batches * o.batchSize;
      if (all.shape[0] < need) {
        throw new RangeError(
          `sampleDiversity images: ${o.batches} batches of ${o.batchSize} need ${need} images; got ${describeShape(all)}. Pass more images or smaller batches/batchSize.`,
        );
      }
      const [, h, w, c] = all.shape;
      for (let b = 0; b < o.batches; b++) {
        const scaled = tf.tidy(
          () => tf.mul(tf.add(tf.slice(all, [b * o.batchSize, 0, 0, 0], [o.batchSize, h, w, c]), 1), 127.5) as Tensor4D,
        );
        try {
          perBatch.push(meanPairwiseMsSsim(scaled, { convention: o.convention }));
        } finally {
          scaled.dispose();
        }
      }
    } finally {
      all.dispose();
    }
  }
  return { mean: perBatch.reduce((a, b) => a + b, 0) / perBatch.length, perBatch };
}
