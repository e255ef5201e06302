/**
 * The independent critic of the evaluation suite (paper-spec §5.3), built from the dataset's discriminator: no
 * batch norm, one linear output, a leaky ReLU whose gradient is itself differentiable (the gradient penalty needs
 * double backprop). metrics/ takes this as its `buildCritic` (a `CriticBuilder`) and knows nothing of src/models;
 * the width comes from the evaluation protocol, never from a trial's model settings.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { buildDiscriminator } from './networks.js';
import type { Resolution } from './types.js';

export interface IndependentCriticSpec {
  /** [height, width, channels] of the images */
  shape: readonly [number, number, number];
  /** width multiplier of the protocol's critic (1 = the paper's discriminator) */
  width: number;
  seed: number;
}

/** The dataset discriminator (paper-spec §3) for `spec.shape` at `spec.width`, as an independent critic. */
export function buildIndependentCritic(spec: IndependentCriticSpec): LayersModel {
  const [h, w, c] = spec.shape;
  if (h !== w || ![28, 32, 64].includes(h)) {
    throw new Error(
      `buildIndependentCritic: no discriminator architecture for ${h}×${w} images (paper-spec §3 has 28, 32 and 64)`,
    );
  }
  // zDim does not enter a discriminator
  const arch = { resolution: h as Resolution, channels: c, zDim: 128, widthMultiplier: spec.width };
  return buildDiscriminator(arch, { batchNorm: false, outputs: 1, doubleBackprop: true, seed: spec.seed });
}
