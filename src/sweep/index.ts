/**
 * Sweeps: define (sweep-file language and schema), expand (trials and their identity), run one trial,
 * run a whole sweep. Sweep files should import from './define.js' directly: it loads no TensorFlow.
 */
export { choice, defineSweep, logUniform, parseSweepSpec, SweepSpecError, SweepSpecSchema, uniform } from './define.js';
export type { HyperparameterSpace, RefineSpec, SweepOverrides, SweepSpec } from './define.js';
export {
  expandRefine,
  expandSweep,
  rankSettings,
  TrialPhaseSchema,
  type Trial,
  type TrialConfig,
  type TrialPhase,
} from './expand.js';
export { loadSweepFile } from './load.js';
export { runParams as trialParams } from '../tracking/run-record.js';
export { canonicalJson, trialId } from './trial-id.js';
export {
  findTrialRun,
  RESUMED_FROM_TAG,
  runTrial,
  TrialStatusSchema,
  type RunTrialOptions,
  type TrialOutcome,
} from './run-trial.js';
export { TimedTracker } from './timed-tracker.js';
export { runSweep, threadsPerTrial, TRIAL_EXIT, type RunSweepOptions, type SweepResult } from './scheduler.js';
