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
import { BaseGan, adam, optimizerStep, trainableVariables, type LayersModel, type Optimizer } from './common.js';
import { dcganDiscriminatorLoss, dcganGeneratorLoss } from './losses.js';
import { buildDiscriminator, buildGenerator } from './networks.js';
import type { Losses, ModelConfig } from './types.js';
import { createRng } from '../util/rng.js';

export class Dcgan extends BaseGan {
  protected readonly networks: { G: LayersModel; D: LayersModel };
  protected readonly optimizers: { G: Optimizer; D: Optimizer };
  protected readonly generator: LayersModel;

  constructor(config: ModelConfig) {
    super(config);
    const init = createRng(config.seed);
    const G = buildGenerator(config.arch, { seed: init.seed() });
    const D = buildDiscriminator(config.arch, { batchNorm: true, outputs: 1, seed: init.seed() });
    this.networks = { G, D };
    this.generator = G;
    const hp = config.hp;
    this.optimizers = { G: adam(hp.lrG, hp.beta1, hp.beta2), D: adam(hp.lrD, hp.beta1, hp.beta2) };
  }

  get G(): LayersModel { return this.networks.G; }
  get D(): LayersModel { return this.networks.D; }

  /** one discriminator update; G runs in training mode (batch statistics), only D's variables change */
  discriminatorStep(real: Tensor4D, rng: Rng): Losses {
    return optimizerStep(this.optimizers.D, trainableVariables(this.D), () => {
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
  generatorStep(n: number, rng: Rng): Losses {
    return optimizerStep(this.optimizers.G, trainableVariables(this.G), () => {
      const z = this.latent(n, rng);
      const fake = this.G.apply(z, { training: true }) as Tensor4D;
      return { loss: dcganGeneratorLoss(this.D.apply(fake, { training: true }) as Tensor) };
    });
  }

  trainStep(real: Tensor4D): Losses {
    const rng = this.rngForStep();
    const hp = this.config.hp;
    let d: Losses = {};
    for (let i = 0; i < hp.nD; i++) d = tf.tidy(() => this.discriminatorStep(this.realSlice(real, i), rng));
    let g: Losses = {};
    for (let i = 0; i < hp.nG; i++) g = this.generatorStep(this.sliceSize(real), rng);
    this.step++;
    return { d: d.loss, g: g.loss, d_real: d.d_real, d_fake: d.d_fake };
  }
}
