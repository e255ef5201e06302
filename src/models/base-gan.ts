/**
 * The base every model is configured from (after compare_gan's modular_gan, which composes a GAN from parts):
 * a model describes its networks (builder and which learning rate their Adam uses) and its update schedule (phases
 * of sub-updates, each with its loss); the base builds the networks and optimizers, runs the schedule, samples,
 * counts updates, saves and loads. A model file then holds only what differs: its losses and its schedule.
 *
 * The step counter is the only state besides weights and optimizer slots, since all randomness of step k is
 * derived from (config.seed, k).
 *
 * Batch-norm statistics for sampling (issue 12.3). tfjs updates a BN layer's moving mean and variance on every
 * training-mode call, and inference-mode G (sample, generate, evaluation) normalises with them. AGE and α-GAN also
 * pass reconstructions G(E(x)) through G in training mode; left alone, those would pull the moving statistics
 * towards the statistics of reconstructions, which are not what G(z) produces. So a reconstruction pass
 * (BaseGan.reconstruct) restores G's non-trainable weights afterwards, and only the prior passes G(z) move them — the
 * same for all four models. Chosen over the alternatives because it is exact and cheap (a copy of a few vectors)
 * and leaves the training arithmetic untouched (training-mode BN normalises with batch statistics, so no loss
 * changes): running reconstructions in inference mode would change the losses and gradients, and re-estimating
 * the statistics from prior samples before each evaluation would add a pass per evaluation and make sampling
 * depend on when that was last done. It acts on the layers' non-trainable weights, so it does not depend on how
 * networks.ts implements batch norm.
 */
import { tf } from '../backend/index.js';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { createRng, type Rng } from '../util/rng.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import {
  adam,
  keepingMovingStatistics,
  normalLatent,
  optimizerStep,
  stepSeed,
  trainableVariables,
  type LayersModel,
  type Optimizer,
} from './common.js';
import type { ArchitectureConfig, GanModel, Losses, ModelConfig, ModelHyperparameters } from './types.js';

/** One network of a model: how it is built (from the architecture and an init seed) and its Adam learning rate. */
export interface NetworkSpec {
  build: (arch: ArchitectureConfig, seed: number) => LayersModel;
  lr: 'lrG' | 'lrD';
}

/**
 * A model's networks, in build order (each draws its init seed from createRng(config.seed) in this order, so the
 * order is part of the model's identity); 'G' is the generator that samples come from.
 */
export type NetworkSpecs<N extends string> = Record<N | 'G', NetworkSpec>;

/** `times` sub-updates in a row; update i gets the i-th real minibatch (see BaseGan.realSlice). */
export interface Phase {
  times: number;
  update: (real: Tensor4D, rng: Rng) => Losses;
}

/**
 * The schedule DCGAN, WGAN-GP and AGE share: hp.nD updates of the player that sees real data (phase `player`:
 * discriminator, critic or encoder), then hp.nG generator updates, each on as many fresh latents as real rows.
 */
export function playerThenGenerator<K extends string>(
  hp: Pick<ModelHyperparameters, 'nD' | 'nG'>,
  player: K,
  playerStep: (real: Tensor4D, rng: Rng) => Losses,
  generatorStep: (n: number, rng: Rng) => Losses,
): Record<K | 'g', Phase> {
  const phases = { [player]: { times: hp.nD, update: playerStep } } as Record<K | 'g', Phase>;
  phases.g = { times: hp.nG, update: (x, rng) => generatorStep(x.shape[0], rng) };
  return phases;
}

/** The losses of a phase's last sub-update, by phase name. */
export type PhaseLosses<P extends string> = Record<P, Losses>;

export abstract class BaseGan<N extends string = string, P extends string = string> implements GanModel {
  /** number of completed trainStep calls */
  step = 0;
  protected readonly networks: Record<N | 'G', LayersModel>;
  protected readonly optimizers: Record<N | 'G', Optimizer>;
  /** AGE draws its prior on the unit sphere */
  protected readonly sphere: boolean;

  constructor(
    readonly config: ModelConfig,
    specs: NetworkSpecs<N>,
    opts: { sphere?: boolean } = {},
  ) {
    const init = createRng(config.seed);
    const hp = config.hp;
    const entries = Object.entries(specs) as [N | 'G', NetworkSpec][];
    this.networks = Object.fromEntries(entries.map(([k, s]) => [k, s.build(config.arch, init.seed())])) as Record<
      N | 'G',
      LayersModel
    >;
    this.optimizers = Object.fromEntries(entries.map(([k, s]) => [k, adam(hp[s.lr], hp.beta1, hp.beta2)])) as Record<
      N | 'G',
      Optimizer
    >;
    this.sphere = opts.sphere ?? false;
  }

  get G(): LayersModel {
    return this.networks.G;
  }

  /** The model's schedule for one trainStep, phases in order (hyperparameters give the counts). */
  protected abstract phases(): Record<P, Phase>;
  /** The losses a trainStep reports, from each phase's last sub-update. */
  protected abstract report(last: PhaseLosses<P>): Losses;

  trainStep(real: Tensor4D): Losses {
    return this.report(this.runSchedule(real, this.phases()));
  }

  /** Runs the phases in order with this step's randomness (one stream shared in order); advances the step. */
  protected runSchedule(real: Tensor4D, phases: Record<P, Phase>): PhaseLosses<P> {
    const rng = createRng(stepSeed(this.config.seed, this.step, 0));
    const last = {} as PhaseLosses<P>;
    for (const [name, phase] of Object.entries(phases) as [P, Phase][]) {
      for (let i = 0; i < phase.times; i++) last[name] = tf.tidy(() => phase.update(this.realSlice(real, i), rng));
    }
    this.step++;
    return last;
  }

  /** One optimizer step of network `net` on `loss` (which may return named auxiliary scalars). */
  protected update(net: N | 'G', loss: () => { loss: Scalar; aux?: Record<string, Scalar> }): Losses {
    return optimizerStep(this.optimizers[net], trainableVariables(this.networks[net]), loss);
  }

  /** One generator update on `loss` of the logits `judge` gives G(z) for n fresh z; only G's variables change. */
  protected adversarialGeneratorStep(
    n: number,
    rng: Rng,
    judge: LayersModel,
    loss: (logits: Tensor) => Scalar,
  ): Losses {
    return this.update('G', () => {
      const fake = this.G.apply(this.latent(n, rng), { training: true }) as Tensor4D;
      return { loss: loss(judge.apply(fake, { training: true }) as Tensor) };
    });
  }

  /** G(codes) in training mode, leaving G's moving statistics as they were (see the file comment) */
  protected reconstruct(codes: Tensor2D): Tensor4D {
    return keepingMovingStatistics(this.G, () => this.G.apply(codes, { training: true }) as Tensor4D);
  }

  /** real-batch slice for sub-update i: a batch of k·B rows feeds k distinct slices of B, else the whole batch */
  protected realSlice(real: Tensor4D, i: number): Tensor4D {
    const b = this.sliceSize(real);
    if (b === real.shape[0]) return real;
    const k = real.shape[0] / b;
    return tf.slice(real, [(i % k) * b, 0, 0, 0], [b, -1, -1, -1]);
  }

  /** rows per sub-update: hp.batchSize when `real` holds several whole batches, else all of `real` */
  protected sliceSize(real: Tensor4D): number {
    const b = this.config.hp.batchSize;
    const n = real.shape[0];
    return n >= 2 * b && n % b === 0 ? b : n;
  }

  protected latent(n: number, rng: Rng): Tensor2D {
    return normalLatent(n, this.config.arch.zDim, rng.seed(), this.sphere);
  }

  generate(z: Tensor2D): Tensor4D {
    return tf.tidy(() => this.G.apply(z, { training: false }) as Tensor4D);
  }

  /** z for all n is drawn at once (so a seed means the same images for any n' ≤ n prefix), G runs in chunks */
  sample(n: number, seed: number): Tensor4D {
    const z = normalLatent(n, this.config.arch.zDim, seed, this.sphere);
    const chunk = 512;
    if (n <= chunk) {
      const out = this.generate(z);
      z.dispose();
      return out;
    }
    const parts: Tensor4D[] = [];
    for (let i = 0; i < n; i += chunk) {
      parts.push(tf.tidy(() => this.generate(tf.slice(z, [i, 0], [Math.min(chunk, n - i), -1]))));
    }
    const out = tf.concat(parts) as Tensor4D;
    tf.dispose([z, ...parts]);
    return out;
  }

  async save(dir: string): Promise<void> {
    const { config, step, networks, optimizers } = this;
    await saveCheckpoint(dir, { config, step, networks, optimizers });
  }

  async load(dir: string): Promise<void> {
    const { config, networks, optimizers } = this;
    this.step = await loadCheckpoint(dir, { config, networks, optimizers });
  }

  /** optimizer updates applied so far, per network (tests check the schedule with it) */
  updateCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, opt] of Object.entries(this.optimizers) as [string, Optimizer][]) out[k] = opt.iterations;
    return out;
  }

  dispose(): void {
    for (const net of Object.values(this.networks) as LayersModel[]) net.dispose();
    for (const opt of Object.values(this.optimizers) as Optimizer[]) opt.dispose();
  }
}
