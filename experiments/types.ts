import type { DatasetName } from '../src/data/types.js';
import type { ArchitectureConfig, ModelHyperparameters, ModelName } from '../src/models/types.js';
import type { EvalProtocol } from '../metrics/protocol.js';

export type Budget = 'paper' | 'quick';

/** Everything needed to train and score one (model, dataset) pair, before a sweep overrides hyperparameters. */
export interface Preset {
  model: ModelName;
  dataset: DatasetName;
  budget: Budget;
  arch: ArchitectureConfig;
  hp: ModelHyperparameters;
  steps: number;
  checkpointEvery: number;
  sampleEvery: number;
  logEvery: number;
  eval: EvalProtocol;
}
