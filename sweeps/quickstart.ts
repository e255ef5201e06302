/**
 * The quick start: all four models on ColorMNIST (the 10,000 real digits shipped in the `mnist` package),
 * the quick CPU budget of experiments/, two generator learning rates each, one seed: 8 trials.
 * Sized to finish within 15 minutes on a 2-core CPU machine (two trials at once, one thread each); bench/README.md
 * ("The quick budget") has a measured run.
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
  // modes_covered: (digit, colour) classes covered, the score that sees colour collapse (the digit classifier can't)
  metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid', 'modes_covered'],
  // small convolutions scale poorly across threads: two single-threaded trials beat one two-threaded trial
  parallel: 2,
});
