/**
 * AGE (paper-spec §2.3): generator g and encoder e only; latent prior uniform on the unit sphere, encoder
 * output L2-normalised. Schedule per trainStep: nD encoder updates (paper default 1) then nG generator
 * updates (2 for CIFAR-10, 3 for CelebA in the authors' commands), each with fresh z; the encoder updates
 * use slices of `real` when it holds several batches. lrD is the encoder's learning rate, lrG the generator's.
 */
import { tf } from '../backend/index.js';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import type { Rng } from '../util/rng.js';
import { BaseGan, playerThenGenerator, type PhaseLosses } from './base-gan.js';
import type { LayersModel } from './common.js';
import { ageEncoderLoss, ageGeneratorLoss, l2Normalize } from './losses.js';
import { buildEncoder, buildGenerator } from './networks.js';
import type { Losses, ModelConfig } from './types.js';

export class Age extends BaseGan<'G' | 'E', 'e' | 'g'> {
  constructor(config: ModelConfig) {
    super(
      config,
      {
        G: { build: (arch, seed) => buildGenerator(arch, { seed }), lr: 'lrG' },
        E: { build: (arch, seed) => buildEncoder(arch, { seed }), lr: 'lrD' },
      },
      { sphere: true },
    );
  }

  get E(): LayersModel {
    return this.networks.E;
  }

  private e(x: Tensor4D, training: boolean): Tensor2D {
    return l2Normalize(this.E.apply(x, { training }) as Tensor2D);
  }

  encode(x: Tensor4D): Tensor2D {
    return tf.tidy(() => this.e(x, false));
  }

  encoderStep(real: Tensor4D, rng: Rng): Losses {
    const hp = this.config.hp;
    return this.update('E', () => {
      const z = this.latent(real.shape[0], rng);
      const fake = this.G.apply(z, { training: true }) as Tensor4D;
      const codesReal = this.e(real, true);
      const codesFake = this.e(fake, true);
      const reconstruction = this.reconstruct(codesReal);
      const r = ageEncoderLoss(
        { codesReal, codesFake, real, reconstruction },
        { form: hp.ageKlForm, lambda: hp.ageLambda },
      );
      return { loss: r.loss, aux: { kl_real: r.klReal, kl_fake: r.klFake, recon_x: r.recon } };
    });
  }

  generatorStep(n: number, rng: Rng): Losses {
    const hp = this.config.hp;
    return this.update('G', () => {
      const z = this.latent(n, rng);
      const codesFake = this.e(this.G.apply(z, { training: true }) as Tensor4D, true);
      const r = ageGeneratorLoss({ codesFake, z }, { form: hp.ageKlForm, mu: hp.ageMu });
      return { loss: r.loss, aux: { kl_fake: r.klFake, match_z: r.matchZ } };
    });
  }

  protected phases() {
    const hp = this.config.hp;
    return playerThenGenerator(
      hp,
      'e',
      (x, rng) => this.encoderStep(x, rng),
      (n, rng) => this.generatorStep(n, rng),
    );
  }

  protected report({ e, g }: PhaseLosses<'e' | 'g'>): Losses {
    return { e: e.loss, g: g.loss, kl_real: e.kl_real, kl_fake: e.kl_fake, recon_x: e.recon_x, match_z: g.match_z };
  }
}
