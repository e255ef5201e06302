import { z } from 'zod';
import type { DatasetName } from '../src/data/types.js';
import type { ArchitectureConfig, ModelHyperparameters, ModelName } from '../src/models/types.js';
import type { TrainFor } from '../src/train/counters.js';
import type { EvalProtocol } from '../metrics/protocol.js';

/**
 * The preset families: the paper's networks and lengths, a CPU-sized study (`cpu`), or a CPU-sized smoke test of
 * the whole loop (`quick`).
 */
export const BudgetSchema = z.enum(['paper', 'quick', 'cpu']);
export type Budget = z.infer<typeof BudgetSchema>;

/** Everything needed to train and score one (model, dataset) pair, before a sweep overrides hyperparameters. */
export interface Preset {
  model: ModelName;
  dataset: DatasetName;
  budget: Budget;
  arch: ArchitectureConfig;
  hp: ModelHyperparameters;
  /** how long to train, in the unit the budget is stated in */
  trainFor: TrainFor;
  /** trainFor as trainStep calls for this preset's own hyperparameters (a sweep converts again for its own) */
  steps: number;
  checkpointEvery: number;
  sampleEvery: number;
  logEvery: number;
  /** validation scorings per trial, evenly spaced, the last at the end (1 = only at the end) */
  evaluations: number;
  eval: EvalProtocol;
}
