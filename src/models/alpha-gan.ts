/**
 * α-GAN (paper-spec §1): encoder E, generator G, image discriminator D (real vs reconstructions and samples),
 * code discriminator C (prior vs encodings, no batch norm); four Adam optimizers (E and G at lrG, D and C at lrD).
 * Schedule per trainStep (paper-spec §1.4, an implementation decision): nG × (E and G updated together from one
 * forward pass), then nD × D, then nD × C; fresh z each update; D / C updates use slices of `real` when it holds
 * several batches.
 *
 * E and G have different losses sharing the reconstruction term. One backward pass computes both exactly from the
 * surrogate  S = recon(x, G(ẑ)) − mean C(ẑ) − mean D(G(sg(ẑ))) − mean D(G(z)) [+ λ_z·mean|z − E(G(z))|]:
 * ∂S/∂E = ∂L_E/∂E (the D term cannot reach E through the stop-gradient) and ∂S/∂G = ∂L_G/∂G (C does not depend
 * on G). The price is one extra forward pass of G on the stopped codes.
 */
import { tf } from '../backend/index.js';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import type { Rng } from '../util/rng.js';
import { BaseGan, type PhaseLosses } from './base-gan.js';
import { pickGrads, stopGradient, trainableVariables, type LayersModel, type NamedVariableMap } from './common.js';
import { alphaGanCodeDiscriminatorLoss, alphaGanDiscriminatorLoss, meanAbs } from './losses.js';
import { buildCodeDiscriminator, buildDiscriminator, buildEncoder, buildGenerator } from './networks.js';
import type { Losses, ModelConfig } from './types.js';

export class AlphaGan extends BaseGan<'E' | 'G' | 'D' | 'C', 'eg' | 'd' | 'c'> {
  constructor(config: ModelConfig, opts: { codeUnits?: number } = {}) {
    super(config, {
      E: { build: (arch, seed) => buildEncoder(arch, { seed }), lr: 'lrG' },
      G: { build: (arch, seed) => buildGenerator(arch, { seed }), lr: 'lrG' },
      D: { build: (arch, seed) => buildDiscriminator(arch, { batchNorm: true, outputs: 1, seed }), lr: 'lrD' },
      C: { build: (arch, seed) => buildCodeDiscriminator(arch.zDim, opts.codeUnits ?? 750, { seed }), lr: 'lrD' },
    });
  }

  get E(): LayersModel {
    return this.networks.E;
  }
  get D(): LayersModel {
    return this.networks.D;
  }
  get C(): LayersModel {
    return this.networks.C;
  }

  encode(x: Tensor4D): Tensor2D {
    return tf.tidy(() => this.E.apply(x, { training: false }) as Tensor2D);
  }

  /** E and G updated together (one forward pass); D and C unchanged. */
  encoderGeneratorStep(real: Tensor4D, rng: Rng): Losses {
    const { eGrads, gGrads, losses, dispose } = this.encoderGeneratorGradients(real, rng);
    this.optimizers.E.applyGradients(eGrads);
    this.optimizers.G.applyGradients(gGrads);
    dispose();
    return losses;
  }

  /**
   * ∂L_E/∂E and ∂L_G/∂G from one forward pass via the surrogate S of the file comment
   * (exposed so tests can compare them with the gradients of L_E and L_G taken separately).
   */
  encoderGeneratorGradients(
    real: Tensor4D,
    rng: Rng,
  ): {
    eGrads: NamedVariableMap;
    gGrads: NamedVariableMap;
    losses: Losses;
    dispose: () => void;
  } {
    const hp = this.config.hp;
    const eVars = trainableVariables(this.E);
    const gVars = trainableVariables(this.G);
    const kept: Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const z = this.latent(real.shape[0], rng);
      const zHat = this.E.apply(real, { training: true }) as Tensor2D;
      const rec = this.reconstruct(zHat);
      const recForD = this.reconstruct(stopGradient(zHat));
      const gen = this.G.apply(z, { training: true }) as Tensor4D;
      const l1 = meanAbs(real, rec);
      const recon = tf.mul(l1, hp.reconLambda);
      const advE = tf.neg(tf.mean(this.C.apply(zHat, { training: true }) as Tensor));
      const advRec = tf.neg(tf.mean(this.D.apply(recForD, { training: true }) as Tensor));
      const advGen = tf.neg(tf.mean(this.D.apply(gen, { training: true }) as Tensor));
      let cycle: Scalar = tf.scalar(0);
      if (hp.latentLambda > 0) {
        cycle = tf.mul(meanAbs(z, this.E.apply(gen, { training: true }) as Tensor2D), hp.latentLambda) as Scalar;
      }
      const lossE = tf.add(tf.add(recon, advE), cycle) as Scalar;
      const lossG = tf.add(tf.add(tf.add(recon, advRec), advGen), cycle) as Scalar;
      kept.push(tf.keep(lossE), tf.keep(lossG), tf.keep(l1), tf.keep(cycle));
      return tf.add(tf.add(tf.add(tf.add(recon, advE), advRec), advGen), cycle) as Scalar;
    }, [...eVars, ...gVars]);
    const [e, g, l1, cycle] = kept.map((t) => t.dataSync()[0]);
    return {
      eGrads: pickGrads(grads, eVars),
      gGrads: pickGrads(grads, gVars),
      losses: { e, g, l1, latent_cycle: cycle },
      dispose: () => tf.dispose([value, grads, kept]),
    };
  }

  /** D on real (label 1), reconstructions and samples (label 0): three terms; only D changes. */
  discriminatorStep(real: Tensor4D, rng: Rng): Losses {
    return this.update('D', () => {
      const z = this.latent(real.shape[0], rng);
      const rec = this.reconstruct(this.E.apply(real, { training: true }) as Tensor2D);
      const gen = this.G.apply(z, { training: true }) as Tensor4D;
      const d = (x: Tensor4D) => this.D.apply(x, { training: true }) as Tensor;
      return { loss: alphaGanDiscriminatorLoss(d(real), d(rec), d(gen)) };
    });
  }

  /** C on prior draws (label 1) and encodings (label 0); only C changes. */
  codeDiscriminatorStep(real: Tensor4D, rng: Rng): Losses {
    return this.update('C', () => {
      const z = this.latent(real.shape[0], rng);
      const zHat = this.E.apply(real, { training: true }) as Tensor2D;
      const c = (v: Tensor2D) => this.C.apply(v, { training: true }) as Tensor;
      return { loss: alphaGanCodeDiscriminatorLoss(c(z), c(zHat)) };
    });
  }

  protected phases() {
    const hp = this.config.hp;
    return {
      eg: { times: hp.nG, update: (x: Tensor4D, rng: Rng) => this.encoderGeneratorStep(x, rng) },
      d: { times: hp.nD, update: (x: Tensor4D, rng: Rng) => this.discriminatorStep(x, rng) },
      c: { times: hp.nD, update: (x: Tensor4D, rng: Rng) => this.codeDiscriminatorStep(x, rng) },
    };
  }

  protected report({ eg, d, c }: PhaseLosses<'eg' | 'd' | 'c'>): Losses {
    const out: Losses = { e: eg.e, g: eg.g, d: d.loss, c: c.loss, recon_l1: eg.l1 };
    if (this.config.hp.latentLambda > 0) out.latent_cycle = eg.latent_cycle;
    return out;
  }
}
