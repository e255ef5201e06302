/**
 * DCGAN (paper-spec §2.1): BCE discriminator, non-saturating generator loss.
 * Schedule per trainStep: nD discriminator updates, then nG generator updates; every update draws fresh z,
 * and the discriminator updates use slices of `real` when it holds nD batches, else the same batch.
 * (The reference code alternates D and G on successive minibatches; with nD = nG = 1 this is the same loop.)
 * The reference's L2 weight decay of 1e-5 is not applied.
 */
import { tf } from '../backend/index.js';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import type { Rng } from '../util/rng.js';
import { BaseGan, playerThenGenerator, type PhaseLosses } from './base-gan.js';
import type { LayersModel } from './common.js';
import { dcganDiscriminatorLoss, dcganGeneratorLoss } from './losses.js';
import { buildDiscriminator, buildGenerator } from './networks.js';
import type { Losses, ModelConfig } from './types.js';

export class Dcgan extends BaseGan<'G' | 'D', 'd' | 'g'> {
  constructor(config: ModelConfig) {
    super(config, {
      G: { build: (arch, seed) => buildGenerator(arch, { seed }), lr: 'lrG' },
      D: { build: (arch, seed) => buildDiscriminator(arch, { batchNorm: true, outputs: 1, seed }), lr: 'lrD' },
    });
  }

  get D(): LayersModel {
    return this.networks.D;
  }

  /** one discriminator update; G runs in training mode (batch statistics), only D's variables change */
  discriminatorStep(real: Tensor4D, rng: Rng): Losses {
    return this.update('D', () => {
      const z = this.latent(real.shape[0], rng);
      const fake = this.G.apply(z, { training: true }) as Tensor4D;
      const dReal = this.D.apply(real, { training: true }) as Tensor;
      const dFake = this.D.apply(fake, { training: true }) as Tensor;
      return {
        loss: dcganDiscriminatorLoss(dReal, dFake),
        aux: { d_real: tf.mean(tf.sigmoid(dReal)), d_fake: tf.mean(tf.sigmoid(dFake)) },
      };
    });
  }

  /** one generator update (non-saturating); only G's variables change */
  generatorStep = (n: number, rng: Rng): Losses => this.adversarialGeneratorStep(n, rng, this.D, dcganGeneratorLoss);

  protected phases() {
    return playerThenGenerator(this.config.hp, 'd', (x, rng) => this.discriminatorStep(x, rng), this.generatorStep);
  }

  protected report({ d, g }: PhaseLosses<'d' | 'g'>): Losses {
    return { d: d.loss, g: g.loss, d_real: d.d_real, d_fake: d.d_fake };
  }
}
