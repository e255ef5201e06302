/**
 * A trial as flat MLflow params (design.md: "Params: every hyperparameter, flat"): snake_case of every
 * hyperparameter, architecture and evaluation-protocol field, plus the dataset spec as `data_<field>`.
 * The report groups and labels runs by these keys.
 */
import type { Trial } from './expand.js';
import { snakeCase } from './expand.js';

export function trialParams(trial: Trial): Record<string, string | number | boolean> {
  const params: Record<string, string | number | boolean> = {
    model: trial.model,
    dataset: trial.dataset,
    budget: trial.budget,
    seed: trial.seed,
    steps: trial.steps,
    train_for_unit: trial.trainFor.unit,
    train_for_amount: trial.trainFor.amount,
    trial_id: trial.trialId,
    setting_id: trial.settingId,
    phase: trial.phase,
    metrics: trial.metrics.join(','),
    checkpoint_every: trial.checkpointEvery,
    log_every: trial.logEvery,
  };
  if (trial.evalEvery !== null) params.eval_every = trial.evalEvery;
  const add = (prefix: string, obj: object): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined || v === null) continue;
      const key = `${prefix}${snakeCase(k)}`;
      if (key in params) continue;
      params[key] = typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
    }
  };
  add('', trial.hp);
  add('', trial.arch);
  add('', trial.eval);
  add('data_', trial.datasetSpec);
  delete params.data_name; // it is `dataset`
  return params;
}
