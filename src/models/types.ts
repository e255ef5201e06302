/**
 * One interface for the four GAN variants the study compares. Models know nothing about tracking
 * or sweeps: the trainer drives them and reports what they return.
 */
import { z } from 'zod';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';

export const ModelNameSchema = z.enum(['dcgan', 'wgan-gp', 'age', 'alpha-gan']);
export type ModelName = z.infer<typeof ModelNameSchema>;
export const MODEL_NAMES: readonly ModelName[] = ModelNameSchema.options;

/** Image side length; selects the network builders of paper-spec §3 (zod enums take strings: a literal set). */
export const RESOLUTIONS = [28, 32, 64] as const;
export const ResolutionSchema = z.literal(RESOLUTIONS);
export type Resolution = z.infer<typeof ResolutionSchema>;

/** AGE's KL form: 'paper' (standard deviation) or 'code' (variance, authors' code); see losses.ts ageKl */
export const AgeKlFormSchema = z.enum(['paper', 'code']);
export type AgeKlForm = z.infer<typeof AgeKlFormSchema>;

export interface ArchitectureConfig {
  resolution: Resolution;
  channels: number;
  zDim: number;
  /** multiplies every conv width (paper: 1); the quick CPU presets use < 1 */
  widthMultiplier: number;
}

/** Every hyperparameter, flat, so it maps 1:1 onto MLflow params. */
export interface ModelHyperparameters {
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  batchSize: number;
  /** generator (and encoder) updates per step */
  nG: number;
  /** discriminator / critic updates per step */
  nD: number;
  /** WGAN-GP gradient penalty weight */
  gpLambda: number;
  /** α-GAN reconstruction weight λ (L1 as a per-element mean) */
  reconLambda: number;
  /** α-GAN optional latent cycle weight λ_z (0 = off) */
  latentLambda: number;
  /** AGE: KL form, 'paper' (standard deviation) or 'code' (variance, authors' code) */
  ageKlForm: AgeKlForm;
  /** AGE reconstruction weights in latent (μ) and image (λ) space */
  ageMu: number;
  ageLambda: number;
}

export interface ModelConfig {
  model: ModelName;
  arch: ArchitectureConfig;
  hp: ModelHyperparameters;
  seed: number;
}

export type Losses = Record<string, number>;

export interface GanModel {
  readonly config: ModelConfig;
  /** One training step (all of the model's sub-updates, per its schedule) on a real batch in [-1, 1]. */
  trainStep(real: Tensor4D): Losses;
  /** n samples in [-1, 1] from latent draws seeded by `seed` (same seed → same images) */
  sample(n: number, seed: number): Tensor4D;
  /** G(z) in inference mode */
  generate(z: Tensor2D): Tensor4D;
  /** E(x), for the models that have an encoder (AGE, α-GAN) */
  encode?(x: Tensor4D): Tensor2D;
  /** every weight and every optimizer slot, so a resumed run continues bit-for-bit where possible */
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
  dispose(): void;
}
