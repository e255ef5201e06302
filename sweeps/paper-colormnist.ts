/**
 * The paper-scale ColorMNIST study (paper budget of experiments/: the paper's architectures and training length).
 *
 * The grids are a RECOLLECTION of the α-GAN paper's appendix (shared/paper-spec.md §4, tagged [R]): the paper
 * lists hyperparameter "spreads" (learning rates of generator/encoder and discriminators around 1e-4 … 5e-4,
 * Adam β1 in {0.5, 0.9}, number of generator updates per discriminator update in {1, 2, 5}, α-GAN's
 * reconstruction weight), not final values; exact grids, training length and seeds are unknown. Edit freely.
 *
 * Phase 2 (`refine`) re-runs the 3 best settings of each model (by Inception score) with two new seeds, so the
 * top of each model's ranking is not a single lucky seed.
 *
 *   npm run sweep -- sweeps/paper-colormnist.ts --dry-run   # 126 trials
 */
import { defineSweep } from '../src/sweep/define.js';

const lr = [1e-4, 2e-4, 5e-4];

export default defineSweep({
  name: 'paper-colormnist',
  models: ['dcgan', 'wgan-gp', 'age', 'alpha-gan'],
  datasets: ['colormnist'],
  budget: 'paper',
  hp: { lrG: lr, lrD: lr, beta1: [0.5, 0.9] },
  perModel: {
    // WGAN-GP: n_critic = 5 and λ_GP = 10 kept at the WGAN-GP paper's values [R]; its Adam β1 is 0 or 0.5
    'wgan-gp': { lrG: lr, lrD: lr, beta1: [0, 0.5], nD: 5, gpLambda: 10 },
    // AGE: encoder and generator share the learning rate in the authors' code; G updates per E update swept
    age: { lrG: lr, beta1: [0.5, 0.9], nG: [1, 2, 3] },
    // α-GAN: more generator than discriminator updates worked better [S]; λ (L1 reconstruction) swept
    'alpha-gan': { lrG: [2e-4, 5e-4], lrD: [1e-4, 2e-4], beta1: [0.5], nG: [1, 2, 5], reconLambda: [1, 10, 100] },
  },
  seeds: [0],
  metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid'],
  // MNIST IDX files instead of the 10,000 digits in the `mnist` package: set MNIST_DIR
  ...(process.env.MNIST_DIR ? { dataDirs: { colormnist: process.env.MNIST_DIR } } : {}),
  refine: { topK: 3, seeds: [1, 2], metric: 'inception_score' },
});
