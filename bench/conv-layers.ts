/**
 * Forward pass plus both gradients (input and kernel) of each convolution of the DCGAN networks (batch 64), on
 * TensorFlow through TF.js; bench/conv_layers.py times the same shapes in PyTorch. Part of `npm run bench --
 * --profile`: it tells whether a model's gap to PyTorch sits in the convolutions or around them.
 */
import { tf } from '../src/backend/index.js';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { medianMs } from './models.js';

export interface ConvLayerCase {
  name: string;
  /** NHWC input */
  input: [number, number, number, number];
  outChannels: number;
  kernel: number;
  /** transposed convolution (the generator's upsampling), else a strided convolution (D / E) */
  transpose: boolean;
}

const BATCH = 64;

/** The strided convolutions of D and the transposed convolutions of G at 28×28 (5×5) or 64×64 (4×4), stride 2. */
export function convLayerCases(resolution: 28 | 64): ConvLayerCase[] {
  const layer = (transpose: boolean, size: number, cin: number, cout: number, k: number): ConvLayerCase => ({
    name: `${transpose ? 'G deconv' : 'D conv'} ${size}×${size}×${cin}→${cout}`,
    input: [BATCH, size, size, cin],
    outChannels: cout,
    kernel: k,
    transpose,
  });
  if (resolution === 28) {
    return [layer(false, 28, 3, 64, 5), layer(false, 14, 64, 128, 5), layer(false, 7, 128, 256, 5)].concat([
      layer(true, 4, 256, 128, 5),
      layer(true, 7, 128, 64, 5),
      layer(true, 14, 64, 3, 5),
    ]);
  }
  return [
    layer(false, 64, 3, 64, 4),
    layer(false, 32, 64, 128, 4),
    layer(false, 16, 128, 256, 4),
    layer(false, 8, 256, 512, 4),
  ].concat([
    layer(true, 4, 512, 256, 4),
    layer(true, 8, 256, 128, 4),
    layer(true, 16, 128, 64, 4),
    layer(true, 32, 64, 3, 4),
  ]);
}

/** Median ms of forward + input and kernel gradients (read back), after 3 warm-up calls. */
export function timeConvLayer(c: ConvLayerCase, reps = 15): number {
  const [n, h, w, cin] = c.input;
  const x = tf.randomNormal(c.input, 0, 1, 'float32', 1) as Tensor4D;
  const shape: [number, number, number, number] = c.transpose
    ? [c.kernel, c.kernel, c.outChannels, cin]
    : [c.kernel, c.kernel, cin, c.outChannels];
  const k = tf.randomNormal(shape, 0, 0.02, 'float32', 2) as Tensor4D;
  const forward = (a: Tensor4D, b: Tensor4D): Tensor4D =>
    c.transpose ? tf.conv2dTranspose(a, b, [n, h * 2, w * 2, c.outChannels], 2, 'same') : tf.conv2d(a, b, 2, 'same');
  const step = () =>
    tf.tidy(() => {
      const g = tf.grads((a: Tensor, b: Tensor) => tf.sum(forward(a as Tensor4D, b as Tensor4D)))([x, k]);
      for (const t of g) t.dataSync();
    });
  const ms = medianMs(step, 3, reps);
  tf.dispose([x, k]);
  return ms;
}
