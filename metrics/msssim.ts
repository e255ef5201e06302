/**
 * Multi-scale structural similarity (Wang, Simoncelli, Bovik 2003) for batches of image pairs, in the two
 * conventions of paper-spec §5.2 / §8.2:
 *
 * - `compare_gan` (default; google/compare_gan `image_similarity.py`, i.e. `tf.image.ssim_multiscale` with the
 *   window clamped): per channel; at every scale a Gaussian window of size min(filterSize, H_k, W_k) with σ kept
 *   at filterSigma, 'VALID' convolution, biased (co)variances; l and cs averaged over window positions;
 *   relu on cs_k and ssim_last before the powers; between scales 2×2 average pooling, stride 2, after a
 *   SYMMETRIC pad of one row/column at the bottom/right when H or W is odd; mean over channels at the end.
 * - `wang` (Google's NumPy `msssim.py`, tensorflow/models research/compression): channels pooled into one mean
 *   per scale, σ scaled to size·filterSigma/filterSize when the window is clamped, 2×2 box filter with 'reflect'
 *   edges then [::2, ::2] — which equals the symmetric-pad-then-average-pool above, so both share it — and
 *   negative levels clamped to 0 where the reference returns NaN.
 *
 * Both: C1 = (k1·L)², C2 = (k2·L)², L = maxVal; MS-SSIM = Π_{k<K-1} cs_k^{w_k} · ssim_{K-1}^{w_{K-1}} with the
 * weights as given (Wang's five sum to 1.0001 and are not renormalised).
 *
 * Numerics: TF.js computes in float32. To keep σ² = E[x²] − μ² from cancelling catastrophically, each image is
 * divided by maxVal (so C1 = k1², C2 = k2²) and centred on its own per-channel mean before the window moments are
 * taken; variances and covariances are shift-invariant and the window means get the shift added back (the window
 * sums to 1). The per-scale means are combined in float64.
 */
import { z } from 'zod';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { describeShape, toImageBatch } from './inputs.js';

export const WANG_WEIGHTS: readonly number[] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

export const MsSsimOptionsSchema = z.strictObject({
  convention: z.enum(['compare_gan', 'wang']).default('compare_gan'),
  /** dynamic range L of the inputs (images in [0, maxVal]) */
  maxVal: z.number().positive().default(255),
  filterSize: z.number().int().positive().default(11),
  filterSigma: z.number().positive().default(1.5),
  k1: z.number().positive().default(0.01),
  k2: z.number().positive().default(0.03),
  /** one weight per scale; the number of scales is weights.length */
  weights: z.array(z.number().nonnegative()).min(1).default([...WANG_WEIGHTS]),
  /** pairs per TF call (memory bound); default: about 8M floats of image data per call */
  pairsPerChunk: z.number().int().positive().optional(),
});
export type MsSsimOptions = z.input<typeof MsSsimOptionsSchema>;
export type MsSsimConfig = z.output<typeof MsSsimOptionsSchema>;
export type MsSsimConvention = MsSsimConfig['convention'];

export function parseMsSsimOptions(options: unknown): MsSsimConfig {
  const r = MsSsimOptionsSchema.safeParse(options ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => `options.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TypeError(`msSsim: invalid options: ${issues}`);
  }
  return r.data;
}

/** Normalised 1-D Gaussian of `size` taps centred at (size−1)/2; its outer product is the 2-D window of both references. */
export function gaussian1d(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    sum += g[i]!;
  }
  for (let i = 0; i < size; i++) g[i] = g[i]! / sum;
  return g;
}

/** Window size and σ at a scale of size h×w, per convention. */
export function windowAt(h: number, w: number, cfg: Pick<MsSsimConfig, 'convention' | 'filterSize' | 'filterSigma'>): { size: number; sigma: number } {
  const size = Math.min(cfg.filterSize, h, w);
  const sigma = cfg.convention === 'wang' ? (size * cfg.filterSigma) / cfg.filterSize : cfg.filterSigma;
  return { size, sigma };
}

/** 2×2 average pooling, stride 2, after a symmetric pad of one row/column at the end of each odd dimension. */
function downsample(x: Tensor4D): Tensor4D {
  const [, h, w] = x.shape;
  const ph = h % 2;
  const pw = w % 2;
  const padded = ph || pw ? tf.mirrorPad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], 'symmetric') : x;
  return tf.avgPool(padded, 2, 2, 'valid');
}

/** Separable 'VALID' Gaussian blur of every channel. */
function blur(x: Tensor4D, g: Float64Array): Tensor4D {
  const ch = x.shape[3];
  const s = g.length;
  if (s === 1) return x; // a 1-tap normalised window is the identity
  const taps = new Float32Array(s * ch);
  for (let i = 0; i < s; i++) taps.fill(g[i]!, i * ch, (i + 1) * ch);
  const kv = tf.tensor4d(taps, [s, 1, ch, 1]);
  const kh = tf.tensor4d(taps, [1, s, ch, 1]);
  return tf.depthwiseConv2d(tf.depthwiseConv2d(x, kv, 1, 'valid'), kh, 1, 'valid');
}

/**
 * Per-scale statistics for a chunk of pairs: returns [n, C, K] (compare_gan: per channel) or [n, 1, K] (wang),
 * holding cs_k for k < K−1 and ssim_{K−1} last, before the relu. x, y already divided by maxVal.
 */
function scaleStats(x0: Tensor4D, y0: Tensor4D, cfg: MsSsimConfig): Tensor {
  return tf.tidy(() => {
    const levels = cfg.weights.length;
    const c1 = cfg.k1 * cfg.k1;
    const c2 = cfg.k2 * cfg.k2;
    const perChannel = cfg.convention === 'compare_gan';
    const axes = perChannel ? [1, 2] : [1, 2, 3];
    let x = x0;
    let y = y0;
    const out: Tensor[] = [];
    for (let k = 0; k < levels; k++) {
      if (k > 0) {
        x = downsample(x);
        y = downsample(y);
      }
      const [, h, w, ch] = x.shape;
      const { size, sigma } = windowAt(h, w, cfg);
      const g = gaussian1d(size, sigma);
      const mx = tf.mean(x, [1, 2], true);
      const my = tf.mean(y, [1, 2], true);
      const xc = tf.sub(x, mx);
      const yc = tf.sub(y, my);
      const moments = blur(tf.concat([xc, yc, tf.mul(xc, xc), tf.mul(yc, yc), tf.mul(xc, yc)], 3) as Tensor4D, g);
      const [mxc, myc, exx, eyy, exy] = tf.split(moments, [ch, ch, ch, ch, ch], 3);
      const sxx = tf.sub(exx!, tf.square(mxc!));
      const syy = tf.sub(eyy!, tf.square(myc!));
      const sxy = tf.sub(exy!, tf.mul(mxc!, myc!));
      const cs = tf.div(tf.add(tf.mul(sxy, 2), c2), tf.add(tf.add(sxx, syy), c2));
      let stat: Tensor;
      if (k < levels - 1) {
        stat = tf.mean(cs, axes);
      } else {
        const mux = tf.add(mxc!, mx);
        const muy = tf.add(myc!, my);
        const l = tf.div(tf.add(tf.mul(tf.mul(mux, muy), 2), c1), tf.add(tf.add(tf.square(mux), tf.square(muy)), c1));
        stat = tf.mean(tf.mul(l, cs), axes);
      }
      out.push(perChannel ? stat : tf.expandDims(stat, 1)); // [n, C] or [n, 1]
    }
    return tf.stack(out, 2); // [n, C|1, K]
  });
}

/** Combine per-scale statistics [n, C, K] into one MS-SSIM per pair (float64): relu, powers, mean over channels. */
function combine(stats: Float32Array, n: number, ch: number, weights: readonly number[]): number[] {
  const levels = weights.length;
  const res = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let c = 0; c < ch; c++) {
      let p = 1;
      const base = (i * ch + c) * levels;
      for (let k = 0; k < levels; k++) p *= Math.pow(Math.max(stats[base + k]!, 0), weights[k]!);
      acc += p;
    }
    res[i] = acc / ch;
  }
  return res;
}

function defaultChunk(h: number, w: number, c: number): number {
  return Math.max(1, Math.floor(8_000_000 / (h * w * c)));
}

/**
 * MS-SSIM of image pairs taken from one batch by index: pair p compares images[is[p]] with images[js[p]].
 * `images` must already be in [0, maxVal]. Used by sampleDiversity to avoid materialising every pair.
 */
export function msSsimIndexedPairs(images: Tensor4D, is: ArrayLike<number>, js: ArrayLike<number>, options?: MsSsimOptions): number[] {
  const cfg = parseMsSsimOptions(options);
  const [n, h, w, c] = images.shape;
  if (is.length !== js.length) throw new RangeError(`msSsimIndexedPairs: ${is.length} first indices but ${js.length} second indices`);
  for (const arr of [is, js]) {
    for (let p = 0; p < arr.length; p++) {
      const v = arr[p]!;
      if (!Number.isInteger(v) || v < 0 || v >= n) throw new RangeError(`msSsimIndexedPairs: pair ${p} has index ${v}, outside 0..${n - 1}`);
    }
  }
  const chunk = cfg.pairsPerChunk ?? defaultChunk(h, w, c);
  const scaled = tf.tidy(() => tf.div(images, cfg.maxVal) as Tensor4D);
  const result: number[] = [];
  try {
    for (let start = 0; start < is.length; start += chunk) {
      const end = Math.min(is.length, start + chunk);
      const stats = tf.tidy(() => {
        const ia = tf.tensor1d(Int32Array.from(Array.prototype.slice.call(is, start, end) as number[]), 'int32') as Tensor1D;
        const ja = tf.tensor1d(Int32Array.from(Array.prototype.slice.call(js, start, end) as number[]), 'int32') as Tensor1D;
        return scaleStats(tf.gather(scaled, ia) as Tensor4D, tf.gather(scaled, ja) as Tensor4D, cfg);
      });
      const data = stats.dataSync() as Float32Array;
      const chOut = stats.shape[1]!;
      stats.dispose();
      result.push(...combine(data, end - start, chOut, cfg.weights));
    }
  } finally {
    scaled.dispose();
  }
  return result;
}

/**
 * MS-SSIM per image pair: `x[i]` against `y[i]`, both NHWC batches of equal shape with values in [0, maxVal].
 * Returns one number in [0, 1] per pair. Accepts tensors, nested arrays, or `{data, shape}`.
 */
export function msSsim(x: unknown, y: unknown, options?: MsSsimOptions): number[] {
  const cfg = parseMsSsimOptions(options);
  const xt = toImageBatch(x, 'msSsim x');
  let yt: Tensor4D;
  try {
    yt = toImageBatch(y, 'msSsim y');
  } catch (e) {
    xt.dispose();
    throw e;
  }
  try {
    if (xt.shape.join() !== yt.shape.join()) {
      throw new RangeError(`msSsim: x and y must have the same NHWC shape; got x ${describeShape(xt)}, y ${describeShape(yt)}`);
    }
    const [n, h, w, c] = xt.shape;
    const chunk = cfg.pairsPerChunk ?? defaultChunk(h, w, c);
    const result: number[] = [];
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const stats = tf.tidy(() => {
        const xs = tf.div(tf.slice(xt, [start, 0, 0, 0], [size, h, w, c]), cfg.maxVal) as Tensor4D;
        const ys = tf.div(tf.slice(yt, [start, 0, 0, 0], [size, h, w, c]), cfg.maxVal) as Tensor4D;
        return scaleStats(xs, ys, cfg);
      });
      const data = stats.dataSync() as Float32Array;
      const chOut = stats.shape[1]!;
      stats.dispose();
      result.push(...combine(data, size, chOut, cfg.weights));
    }
    return result;
  } finally {
    xt.dispose();
    yt.dispose();
  }
}

