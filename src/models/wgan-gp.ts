/**
 * WGAN-GP (paper-spec §2.2, §8.3). Critic without batch norm; penalty per example on the flattened image
 * gradient at x̂ = x + ε(G(z) − x), ε ~ U[0,1] of shape [B,1,1,1].
 * Schedule per trainStep: nD critic updates (fresh z and ε each; slices of `real` when it holds nD batches,
 * else the same batch), then nG generator updates. The reference loop (G step, then 5 critic steps, G skipped
 * at iteration 0) is the same sequence shifted by one half-step.
 * Double backprop: the penalty differentiates the critic's input gradient w.r.t. its weights. tfjs's LeakyRelu
 * gradient uses `greater`, which has no gradient, so the critic uses a leaky ReLU written with `abs`
 * (networks.ts SmoothGradLeakyReLU); conv2d, dense, reshape and the fused bias ops are twice differentiable.
 */
import { tf } from '../backend/index.js';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { createRng, type Rng } from '../util/rng.js';
import { BaseGan, adam, optimizerStep, trainableVariables, type LayersModel, type Optimizer } from './common.js';
import { gradientPenalty, interpolate } from './losses.js';
import { buildDiscriminator, buildGenerator } from './networks.js';
import type { Losses, ModelConfig } from './types.js';

export class WganGp extends BaseGan {
  protected readonly networks: { G: LayersModel; D: LayersModel };
  protected readonly optimizers: { G: Optimizer; D: Optimizer };
  protected readonly generator: LayersModel;

  constructor(config: ModelConfig) {
    super(config);
    const init = createRng(config.seed);
    const G = buildGenerator(config.arch, { seed: init.seed() });
    const D = buildDiscriminator(config.arch, { batchNorm: false, outputs: 1, doubleBackprop: true, seed: init.seed() });
    this.networks = { G, D };
    this.generator = G;
    const hp = config.hp;
    this.optimizers = { G: adam(hp.lrG, hp.beta1, hp.beta2), D: adam(hp.lrD, hp.beta1, hp.beta2) };
  }

  get G(): LayersModel { return this.networks.G; }
  get critic(): LayersModel { return this.networks.D; }

  criticStep(real: Tensor4D, rng: Rng): Losses {
    const lambda = this.config.hp.gpLambda;
    return optimizerStep(this.optimizers.D, trainableVariables(this.critic), () => {
      const b = real.shape[0];
      const z = this.latent(b, rng);
      const fake = this.G.apply(z, { training: true }) as Tensor4D;
      const eps = tf.randomUniform([b, 1, 1, 1], 0, 1, 'float32', rng.seed()) as Tensor4D;
      const f = (x: Tensor4D) => this.critic.apply(x, { training: true }) as Tensor;
      const fReal = tf.mean(f(real));
      const fFake = tf.mean(f(fake));
      const { penalty } = gradientPenalty(f, interpolate(real, fake, eps));
      const loss = tf.add(tf.sub(fFake, fReal), tf.mul(penalty, lambda)) as Scalar;
      return { loss, aux: { gp: penalty, w_estimate: tf.sub(fReal, fFake) as Scalar } };
    });
  }

  generatorStep(n: number, rng: Rng): Losses {
    return optimizerStep(this.optimizers.G, trainableVariables(this.G), () => {
      const fake = this.G.apply(this.latent(n, rng), { training: true }) as Tensor4D;
      return { loss: tf.neg(tf.mean(this.critic.apply(fake, { training: true }) as Tensor)) as Scalar };
    });
  }

  trainStep(real: Tensor4D): Losses {
    const rng = this.rngForStep();
    const hp = this.config.hp;
    let c: Losses = {};
    for (let i = 0; i < hp.nD; i++) c = tf.tidy(() => this.criticStep(this.realSlice(real, i), rng));
    let g: Losses = {};
    for (let i = 0; i < hp.nG; i++) g = this.generatorStep(this.sliceSize(real), rng);
    this.step++;
    return { critic: c.loss, gp: c.gp, w_estimate: c.w_estimate, g: g.loss };
  }
}
