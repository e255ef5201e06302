/**
 * The ColorMNIST study on one CPU machine: all four models at the cpu budget of experiments/ (networks at a quarter
 * of the paper's width, batch 64, about five and a half minutes of training per trial on one core, stated in
 * generator updates), three settings each over the hyperparameters the paper swept (shared/paper-spec.md §4),
 * two seeds each: 24 trials, two at a time on a 2-core machine, under two hours (README, "The study").
 *
 * Settings are ranked on validation scores (mean over the two seeds); the published numbers are the selected
 * checkpoints' scores on the test split with fresh samples (metrics/protocol.ts).
 *
 *   npm run sweep -- sweeps/colormnist-cpu.ts --parallel 2
 *   npm run plots -- --sweep colormnist-cpu --out results/colormnist-cpu
 */
import { defineSweep } from '../src/sweep/define.js';

export default defineSweep({
  name: 'colormnist-cpu',
  description:
    'DCGAN, WGAN-GP, AGE and α-GAN on ColorMNIST at the cpu budget: three settings each over learning rates, ' +
    'update ratios and α-GAN’s reconstruction weight, two seeds',
  models: ['dcgan', 'wgan-gp', 'age', 'alpha-gan'],
  datasets: ['colormnist'],
  budget: 'cpu',
  perModel: {
    // the generator's learning rate around the DCGAN default (discriminator at 2e-4)
    dcgan: { lrG: [1e-4, 2e-4, 5e-4] },
    // the generator's learning rate, critic at 1e-4 with the WGAN-GP paper's Adam (β 0.5, 0.9) and n_critic 5
    'wgan-gp': { lrG: [1e-4, 2e-4, 5e-4] },
    // generator updates per encoder update, the ratio AGE's authors tune
    age: { nG: [1, 2, 3] },
    // the reconstruction weight λ (L1) of α-GAN's generator loss
    'alpha-gan': { reconLambda: [1, 10, 100] },
  },
  seeds: [1, 2],
  // modes_covered: (digit, colour) classes covered, the score that sees colour collapse (the digit classifier can't)
  metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid', 'modes_covered'],
  parallel: 2,
});
