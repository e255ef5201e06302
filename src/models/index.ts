/**
 * The models' public entry: createModel, paper defaults, architectures per resolution.
 */
import { z } from 'zod';
import { AlphaGan } from './alpha-gan.js';
import { Age } from './age.js';
import { Dcgan } from './dcgan.js';
import { WganGp } from './wgan-gp.js';
import { AgeKlFormSchema, ModelNameSchema, ResolutionSchema } from './types.js';
import type {
  ArchitectureConfig,
  GanModel,
  ModelConfig,
  ModelHyperparameters,
  ModelName,
  Resolution,
} from './types.js';

export * from './types.js';
export { buildGenerator, buildDiscriminator, buildEncoder, buildCodeDiscriminator } from './networks.js';
export { buildIndependentCritic, type IndependentCriticSpec } from './critic.js';
export {
  gradientPenalty,
  ageKl,
  matchCos,
  alphaGanLosses,
  alphaGanDiscriminatorLoss,
  alphaGanCodeDiscriminatorLoss,
  sigmoidCrossEntropy,
  dcganDiscriminatorLoss,
  dcganGeneratorLoss,
  wganCriticLoss,
  wganGeneratorLoss,
  ageEncoderLoss,
  ageGeneratorLoss,
} from './losses.js';
export { Dcgan, WganGp, Age, AlphaGan };

const HyperparametersSchema = z.object({
  lrG: z.number().nonnegative(),
  lrD: z.number().nonnegative(),
  beta1: z.number().min(0).lt(1),
  beta2: z.number().min(0).lt(1),
  batchSize: z.number().int().positive(),
  nG: z.number().int().positive(),
  nD: z.number().int().positive(),
  gpLambda: z.number().nonnegative(),
  reconLambda: z.number().nonnegative(),
  latentLambda: z.number().nonnegative(),
  ageKlForm: AgeKlFormSchema,
  ageMu: z.number().nonnegative(),
  ageLambda: z.number().nonnegative(),
});

export const ModelConfigSchema = z.object({
  model: ModelNameSchema,
  arch: z.object({
    resolution: ResolutionSchema,
    channels: z.number().int().positive(),
    zDim: z.number().int().positive(),
    widthMultiplier: z.number().positive(),
  }),
  hp: HyperparametersSchema,
  seed: z.number().int(),
});

/** Build one of the four models; the config is validated (errors name the bad field). */
export function createModel(config: ModelConfig): GanModel {
  const parsed = ModelConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid model config: ${issues}`);
  }
  switch (config.model) {
    case 'dcgan':
      return new Dcgan(config);
    case 'wgan-gp':
      return new WganGp(config);
    case 'age':
      return new Age(config);
    case 'alpha-gan':
      return new AlphaGan(config);
  }
}

const COMMON: ModelHyperparameters = {
  lrG: 2e-4,
  lrD: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  batchSize: 64,
  nG: 1,
  nD: 1,
  gpLambda: 10,
  reconLambda: 10,
  latentLambda: 0,
  ageKlForm: 'paper',
  ageMu: 1000,
  ageLambda: 10,
};

/**
 * Defaults per model (paper-spec §1–§2):
 * - DCGAN: Adam 2e-4, β (0.5, 0.999), 1 D : 1 G (Radford et al.; dcgan_code).
 * - WGAN-GP: Adam 1e-4, β (0.5, 0.9) as gan_cifar.py (gan_64x64.py and the paper's Algorithm 1 use β1 = 0),
 *   λ_GP 10, 5 critic steps per G step.
 * - AGE: Adam 2e-4, β (0.5, 0.999), 1 encoder step then 2 generator steps (CIFAR-10 command; CelebA used 3),
 *   μ (match_z) 1000, λ (match_x) 10, KL in the paper's form.
 * - α-GAN: the paper's values are unknown (paper-spec §9); Adam 2e-4, β (0.5, 0.999) as DCGAN, λ = 10
 *   (victor-shepardson's example) with L1 as a per-element mean, n_G = n_D = 1, no latent cycle.
 * Batch size 64 throughout.
 */
export function defaultHyperparameters(model: ModelName): ModelHyperparameters {
  switch (model) {
    case 'dcgan':
      return { ...COMMON };
    case 'wgan-gp':
      return { ...COMMON, lrG: 1e-4, lrD: 1e-4, beta1: 0.5, beta2: 0.9, nD: 5, nG: 1 };
    case 'age':
      return { ...COMMON, nG: 2, nD: 1 };
    case 'alpha-gan':
      return { ...COMMON };
  }
}

/**
 * Rows of real data per trainStep that give every sub-update of the schedule its own minibatch of
 * hp.batchSize (the reference loops draw a new batch per update): nD batches for DCGAN, WGAN-GP and AGE
 * (the updates that see real data), max(nG, nD) for α-GAN (its D and C updates share the i-th batch).
 * A trainStep given exactly hp.batchSize rows reuses that batch for every sub-update instead.
 */
export function realRowsPerStep(config: Pick<ModelConfig, 'model' | 'hp'>): number {
  const { hp } = config;
  return hp.batchSize * (config.model === 'alpha-gan' ? Math.max(hp.nG, hp.nD) : hp.nD);
}

/**
 * Paper-spec §3 networks at full width. zDim: 128 at 28×28 (gan_mnist) and 32×32 (gan_cifar, AGE CIFAR-10);
 * 64 at 64×64 (AGE's CelebA command uses nz 64).
 */
export function defaultArchitecture(resolution: Resolution, channels = 3): ArchitectureConfig {
  return { resolution, channels, zDim: resolution === 64 ? 64 : 128, widthMultiplier: 1 };
}
