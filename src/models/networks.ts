/**
 * Network builders shared by the four models, one family per resolution (paper-spec §3):
 *   28×28 — gan_mnist.py (WGAN-GP code) with tanh instead of sigmoid and batch norm in G, DIM 64;
 *   32×32 — gan_cifar.py DCGAN, DIM 128;
 *   64×64 — AGE dcgan64px / PyTorch DCGAN, ngf = ndf = 64, 4×4 kernels.
 * The 64×64 networks' 4×4 "valid" first deconvolution and last convolution act on a 1×1 / 4×4 map and are
 * therefore exactly a dense layer (to / from a 4×4 map); we build them as dense layers, which is the same
 * function and faster on CPU. `widthMultiplier` scales every conv width (minimum 8 channels).
 *
 * Init: weights N(0, 0.02), BN γ N(1, 0.02), biases and β zero (DCGAN). Layers followed by batch norm have
 * no bias (it would be cancelled by the normalisation). BN momentum 0.9 in Keras terms = PyTorch's 0.1, so
 * inference-mode statistics settle as quickly as in the reference code.
 */
import { tf } from '../backend/index.js';
import type { Tensor, Shape, layers } from '@tensorflow/tfjs-node';
import { createRng, type Rng } from '../util/rng.js';
import type { ArchitectureConfig } from './types.js';
import { fusedOpsEnabled } from './ops/native.js';
import { FusedBatchNormalization } from './ops/fused-batch-norm.js';
import { FusedLeakyReLU } from './ops/leaky-relu.js';
import { FusedReLU } from './ops/relu.js';

type LayersModel = ReturnType<typeof tf.sequential>;
type Layer = layers.Layer;

export interface DiscriminatorOptions {
  /** batch norm after every conv but the first (DCGAN, encoders); off for WGAN-GP critics */
  batchNorm: boolean;
  /** 1 logit for a discriminator, zDim for an encoder (linear output) */
  outputs: number;
  /**
   * Use a leaky ReLU written as 0.5(1+α)x + 0.5(1−α)|x|. tfjs's LeakyRelu gradient is built on `greater`,
   * which has no gradient, so the gradient penalty (a gradient of a gradient) fails through it; `abs` has a
   * differentiable gradient. Same function, 3 extra elementwise ops; used only where double backprop is needed.
   * With the fused kernels on (ops/native.ts fusedOpsEnabled) every leaky ReLU is TF's LeakyRelu, whose
   * registered gradient is itself differentiable, and this flag changes nothing.
   */
  doubleBackprop?: boolean;
  seed?: number;
}

const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;
const LEAK = 0.2;

/** Leaky ReLU with a twice-differentiable formulation (see DiscriminatorOptions.doubleBackprop). */
export class SmoothGradLeakyReLU extends tf.layers.Layer {
  static readonly className = 'GanstudySmoothGradLeakyReLU';
  private readonly alpha: number;
  constructor(config: number | { alpha: number }) {
    super({});
    this.alpha = typeof config === 'number' ? config : config.alpha;
  }
  override call(inputs: Tensor | Tensor[]): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.add(tf.mul(x, 0.5 * (1 + this.alpha)), tf.mul(tf.abs(x), 0.5 * (1 - this.alpha))));
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }
  override getConfig() {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

// registered so that a model containing it can be saved and reloaded with tf.loadLayersModel
tf.serialization.registerClass(SmoothGradLeakyReLU);

/** max(8, round(base × multiplier)) */
export function scaledWidth(base: number, multiplier: number): number {
  return Math.max(8, Math.round(base * multiplier));
}

class Init {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = createRng(seed);
  }
  kernel() {
    return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.rng.seed() });
  }
  gamma() {
    return tf.initializers.randomNormal({ mean: 1, stddev: 0.02, seed: this.rng.seed() });
  }
}

function batchNorm(init: Init): Layer {
  const args = {
    momentum: BN_MOMENTUM,
    epsilon: BN_EPSILON,
    gammaInitializer: init.gamma(),
    betaInitializer: 'zeros',
  } as const;
  // fused: TF's FusedBatchNormV3 / FusedBatchNormGradV3 in training mode (ops/fused-batch-norm.ts), same weights
  return fusedOpsEnabled() ? new FusedBatchNormalization(args) : tf.layers.batchNormalization(args);
}

function relu(): Layer {
  // fused: TF's Relu / ReluGrad (ops/relu.ts); TF.js's Relu gradient runs `step` as 8 kernels
  return fusedOpsEnabled() ? new FusedReLU() : tf.layers.reLU();
}

function leaky(doubleBackprop: boolean): Layer {
  // fused: TF's LeakyRelu / LeakyReluGrad, twice differentiable, so also the critic's (ops/leaky-relu.ts)
  if (fusedOpsEnabled()) return new FusedLeakyReLU({ alpha: LEAK });
  return doubleBackprop ? (new SmoothGradLeakyReLU(LEAK) as unknown as Layer) : tf.layers.leakyReLU({ alpha: LEAK });
}

function checkArch(arch: ArchitectureConfig): void {
  if (![28, 32, 64].includes(arch.resolution)) {
    throw new Error(`arch.resolution must be 28, 32 or 64 (got ${String(arch.resolution)})`);
  }
  if (!Number.isInteger(arch.channels) || arch.channels < 1)
    throw new Error(`arch.channels must be a positive integer (got ${arch.channels})`);
  if (!Number.isInteger(arch.zDim) || arch.zDim < 1)
    throw new Error(`arch.zDim must be a positive integer (got ${arch.zDim})`);
  if (!(arch.widthMultiplier > 0)) throw new Error(`arch.widthMultiplier must be > 0 (got ${arch.widthMultiplier})`);
}

/** Base widths (before widthMultiplier) per resolution: the DIM / ngf of the reference code. */
function baseDim(resolution: 28 | 32 | 64): number {
  return resolution === 28 ? 64 : resolution === 32 ? 128 : 64;
}

/** G: z [B, zDim] → image [B, R, R, C] in [-1, 1] (tanh). */
export function buildGenerator(arch: ArchitectureConfig, opts: { seed?: number } = {}): LayersModel {
  checkArch(arch);
  const init = new Init(opts.seed ?? 1);
  const d = (k: number) => scaledWidth(baseDim(arch.resolution) * k, arch.widthMultiplier);
  const g = tf.sequential({ name: 'generator' });
  const deconv = (filters: number, kernelSize: number, useBias: boolean, activation?: 'tanh') =>
    tf.layers.conv2dTranspose({
      filters,
      kernelSize,
      strides: 2,
      padding: 'same',
      useBias,
      activation,
      kernelInitializer: init.kernel(),
      biasInitializer: 'zeros',
    });
  if (arch.resolution === 28) {
    // gan_mnist.py's generator with its optional batch norm (used there in MODE 'wgan') switched on: with the
    // DCGAN init N(0, 0.02) and no normalisation, activations shrink ~10× per layer and G barely trains.
    // The 8×8 map is cropped to 7×7 so that two more doublings give 28×28.
    g.add(
      tf.layers.dense({
        inputShape: [arch.zDim],
        units: 4 * 4 * d(4),
        useBias: false,
        kernelInitializer: init.kernel(),
      }),
    );
    g.add(batchNorm(init));
    g.add(relu());
    g.add(tf.layers.reshape({ targetShape: [4, 4, d(4)] }));
    g.add(deconv(d(2), 5, false));
    g.add(batchNorm(init));
    g.add(relu());
    g.add(
      tf.layers.cropping2D({
        cropping: [
          [0, 1],
          [0, 1],
        ],
      }),
    );
    g.add(deconv(d(1), 5, false));
    g.add(batchNorm(init));
    g.add(relu());
    g.add(deconv(arch.channels, 5, true, 'tanh'));
    return g;
  }
  const top = arch.resolution === 32 ? 4 : 8; // 4·DIM (gan_cifar) or 8·ngf = 512 (dcgan64)
  const kernel = arch.resolution === 32 ? 5 : 4;
  g.add(
    tf.layers.dense({
      inputShape: [arch.zDim],
      units: 4 * 4 * d(top),
      useBias: false,
      kernelInitializer: init.kernel(),
    }),
  );
  g.add(batchNorm(init));
  g.add(relu());
  g.add(tf.layers.reshape({ targetShape: [4, 4, d(top)] }));
  for (let k = top / 2; k >= 1; k /= 2) {
    g.add(deconv(d(k), kernel, false));
    g.add(batchNorm(init));
    g.add(relu());
  }
  g.add(deconv(arch.channels, kernel, true, 'tanh'));
  return g;
}

/** D / critic / encoder body: image → [B, outputs] linear (logits or codes). */
export function buildDiscriminator(arch: ArchitectureConfig, opts: DiscriminatorOptions): LayersModel {
  checkArch(arch);
  const init = new Init(opts.seed ?? 2);
  const d = (k: number) => scaledWidth(baseDim(arch.resolution) * k, arch.widthMultiplier);
  const m = tf.sequential({ name: opts.outputs === 1 ? 'discriminator' : 'encoder' });
  const kernel = arch.resolution === 64 ? 4 : 5;
  const widths = arch.resolution === 64 ? [1, 2, 4, 8] : [1, 2, 4];
  widths.forEach((k, i) => {
    const bn = opts.batchNorm && i > 0;
    m.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: [arch.resolution, arch.resolution, arch.channels] } : {}),
        filters: d(k),
        kernelSize: kernel,
        strides: 2,
        padding: 'same',
        useBias: !bn,
        kernelInitializer: init.kernel(),
        biasInitializer: 'zeros',
      }),
    );
    if (bn) m.add(batchNorm(init));
    m.add(leaky(opts.doubleBackprop === true));
  });
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: opts.outputs, kernelInitializer: init.kernel(), biasInitializer: 'zeros' }));
  return m;
}

/** E: the discriminator body with batch norm and zDim linear outputs (AGE normalises them to the sphere). */
export function buildEncoder(arch: ArchitectureConfig, opts: { seed?: number } = {}): LayersModel {
  return buildDiscriminator(arch, { batchNorm: true, outputs: arch.zDim, seed: opts.seed ?? 3 });
}

/** C: MLP zDim → units → units → 1 logit, ReLU, no batch norm (paper-spec §3, §8.4). */
export function buildCodeDiscriminator(zDim: number, units = 750, opts: { seed?: number } = {}): LayersModel {
  const init = new Init(opts.seed ?? 4);
  const c = tf.sequential({ name: 'code_discriminator' });
  c.add(tf.layers.dense({ inputShape: [zDim], units, activation: 'relu', kernelInitializer: init.kernel() }));
  c.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: init.kernel() }));
  c.add(tf.layers.dense({ units: 1, kernelInitializer: init.kernel() }));
  return c;
}
