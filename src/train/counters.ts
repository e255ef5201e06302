/**
 * What a training step costs in the units budgets are stated in. A "step" is one call of model.trainStep, which
 * runs the model's whole schedule: nG generator updates (α-GAN: encoder and generator together; AGE: generator) and
 * nD discriminator updates (WGAN-GP: critic; AGE: encoder; α-GAN: image discriminator, and as many code-discriminator
 * updates). Comparing models at equal steps therefore compares unequal work: an α-GAN step with nG = 5 makes five
 * generator updates. Budgets are stated in generator updates (as compare_gan counts training) or real examples
 * seen, and converted to steps per model here.
 *
 * zod and types only (no TensorFlow), so sweep files and presets can use it.
 */
import { z } from 'zod';
import type { ModelConfig } from '../models/types.js';

/** What a training budget counts: generator updates (the default), real examples seen, or trainStep calls. */
export const TrainingUnitSchema = z.enum(['generator_updates', 'examples_seen', 'steps']);
export type TrainingUnit = z.infer<typeof TrainingUnitSchema>;

export const TrainForSchema = z.strictObject({ unit: TrainingUnitSchema, amount: z.number().int().positive() });
/** How long to train, e.g. `{ unit: 'generator_updates', amount: 200_000 }`. */
export type TrainFor = z.infer<typeof TrainForSchema>;

/** Work done by training; logged as `train/generator_updates`, `train/discriminator_updates`, `train/examples_seen`. */
export interface UpdateCounts {
  generatorUpdates: number;
  discriminatorUpdates: number;
  /** real-image rows read from the data stream */
  examplesSeen: number;
}

type ScheduleConfig = Pick<ModelConfig, 'model' | 'hp'>;

/**
 * Real-image rows one trainStep consumes: one minibatch per sub-update that reads real images, so no minibatch
 * is reused within a step (the models slice a k·B batch into k minibatches; see BaseGan.realSlice).
 *   DCGAN, WGAN-GP: nD discriminator/critic updates read real images (the generator updates do not);
 *   AGE: nD encoder updates read real images (lrD/nD are the encoder's);
 *   α-GAN: nG encoder–generator updates and nD discriminator updates read them; min(k) slices cycle, so
 *          max(nG, nD) minibatches give every update of the larger group its own.
 */
export function rowsPerStep(config: ScheduleConfig): number {
  const { batchSize, nD, nG } = config.hp;
  switch (config.model) {
    case 'dcgan':
    case 'wgan-gp':
    case 'age':
      return nD * batchSize;
    case 'alpha-gan':
      return Math.max(nD, nG) * batchSize;
  }
}

/** The work of one trainStep, from the model's schedule. */
export function countsPerStep(config: ScheduleConfig): UpdateCounts {
  return { generatorUpdates: config.hp.nG, discriminatorUpdates: config.hp.nD, examplesSeen: rowsPerStep(config) };
}

/** The work of `steps` trainSteps (every step runs the same schedule, so a resumed run counts the same). */
export function countsAfter(config: ScheduleConfig, steps: number): UpdateCounts {
  const per = countsPerStep(config);
  return {
    generatorUpdates: steps * per.generatorUpdates,
    discriminatorUpdates: steps * per.discriminatorUpdates,
    examplesSeen: steps * per.examplesSeen,
  };
}

/** trainStep calls that spend the budget: the fewest steps that reach it (the last step may overshoot). */
export function stepsFor(trainFor: TrainFor, config: ScheduleConfig): number {
  const per = countsPerStep(config);
  switch (trainFor.unit) {
    case 'steps':
      return trainFor.amount;
    case 'generator_updates':
      return Math.ceil(trainFor.amount / per.generatorUpdates);
    case 'examples_seen':
      return Math.ceil(trainFor.amount / per.examplesSeen);
  }
}
