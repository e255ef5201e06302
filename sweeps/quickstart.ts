/**
 * The quick start: all four models on ColorMNIST (the 10,000 real digits shipped in the `mnist` package),
 * the quick CPU budget of experiments/, two generator learning rates each, one seed: 8 trials.
 * Sized to finish within 15 minutes on a 2-core CPU machine (two trials at once, one thread each): measured
 * 723 s (12 min 3 s) wall on this 2-core machine (2026-11-22 23:19 UTC, otherwise idle, oneDNN on), 8 of 8
 * trials FINISHED, 97–181 s of training and 38–52 s of evaluation per trial; tracker calls took 0.07–0.14% of
 * trial time (./mlruns file store).
 *
 *   npm run sweep -- sweeps/quickstart.ts            # runs into ./mlflow.db, artifacts in ./mlartifacts
 *   npm run sweep -- sweeps/quickstart.ts --dry-run  # lists the 8 trials and their status
 */
import { defineSweep } from '../src/sweep/define.js';

export default defineSweep({
  name: 'quickstart',
  description: 'DCGAN, WGAN-GP, AGE and α-GAN on ColorMNIST, quick budget, two generator learning rates each',
  models: ['dcgan', 'wgan-gp', 'age', 'alpha-gan'],
  datasets: ['colormnist'],
  budget: 'quick',
  hp: { lrG: [1e-4, 2e-4] },
  seeds: [1],
  metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid'],
  // small convolutions scale poorly across threads: two single-threaded trials beat one two-threaded trial
  parallel: 2,
});
