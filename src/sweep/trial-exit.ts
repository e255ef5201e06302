/** Exit codes of `ganstudy trial`, which the scheduler reads; a module of its own so the CLI can import them before
 * TensorFlow loads (the trial's signal handlers must be in place within moments of its start). */
export const TRIAL_EXIT = { ok: 0, failed: 1, usage: 2, diverged: 3, interrupted: 130 } as const;
