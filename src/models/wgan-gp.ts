/**
 * WGAN-GP (paper-spec §2.2, §8.3). Critic without batch norm; penalty per example on the flattened image
 * gradient at x̂ = x + ε(G(z) − x), ε ~ U[0,1] of shape [B,1,1,1].
 * Schedule per trainStep: nD critic updates (fresh z and ε each; slices of `real` when it holds nD batches,
 * else the same batch), then nG generator updates. The reference loop (G step, then 5 critic steps, G skipped
 * at iteration 0) is the same sequence shifted by one half-step.
 * Double backprop: the penalty differentiates the critic's input gradient w.r.t. its weights. tfjs's LeakyRelu
 * gradient uses `greater`, which has no gradient, so the critic uses TF's LeakyRelu/LeakyReluGrad with a gradient of
 * the gradient (ops/leaky-relu.ts), or a leaky ReLU written with `abs` when fused ops are off (networks.ts
 * SmoothGradLeakyReLU); conv2d, dense, reshape and the fused bias ops are twice differentiable.
 */
import { tf } from '../backend/index.js';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import type { Rng } from '../util/rng.js';
import { BaseGan, playerThenGenerator, type PhaseLosses } from './base-gan.js';
import type { LayersModel } from './common.js';
import { gradientPenalty, interpolate, wganCriticLoss, wganGeneratorLoss } from './losses.js';
import { buildDiscriminator, buildGenerator } from './networks.js';
import type { Losses, ModelConfig } from './types.js';

export class WganGp extends BaseGan<'G' | 'D', 'critic' | 'g'> {
  constructor(config: ModelConfig) {
    super(config, {
      G: { build: (arch, seed) => buildGenerator(arch, { seed }), lr: 'lrG' },
      D: {
        build: (arch, seed) => buildDiscriminator(arch, { batchNorm: false, outputs: 1, doubleBackprop: true, seed }),
        lr: 'lrD',
      },
    });
  }

  get critic(): LayersModel {
    return this.networks.D;
  }

  criticStep(real: Tensor4D, rng: Rng): Losses {
    return this.update('D', () => {
      const b = real.shape[0];
      const fake = this.G.apply(this.latent(b, rng), { training: true }) as Tensor4D;
      const eps = tf.randomUniform([b, 1, 1, 1], 0, 1, 'float32', rng.seed()) as Tensor4D;
      const f = (x: Tensor4D) => this.critic.apply(x, { training: true }) as Tensor;
      const [fReal, fFake] = [f(real), f(fake)];
      const { penalty } = gradientPenalty(f, interpolate(real, fake, eps));
      const { loss, wEstimate } = wganCriticLoss(fReal, fFake, penalty, this.config.hp.gpLambda);
      return { loss, aux: { gp: penalty, w_estimate: wEstimate } };
    });
  }

  /** one generator update on −mean f(G(z)); only G's variables change */
  generatorStep = (n: number, rng: Rng): Losses =>
    this.adversarialGeneratorStep(n, rng, this.critic, wganGeneratorLoss);

  protected phases() {
    return playerThenGenerator(this.config.hp, 'critic', (x, rng) => this.criticStep(x, rng), this.generatorStep);
  }

  protected report({ critic, g }: PhaseLosses<'critic' | 'g'>): Losses {
    return { critic: critic.loss, gp: critic.gp, w_estimate: critic.w_estimate, g: g.loss };
  }
}
