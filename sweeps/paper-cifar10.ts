/**
 * The paper-scale CIFAR-10 study. Needs the official binary batches (cifar-10-binary.tar.gz from
 * https://www.cs.toronto.edu/~kriz/cifar.html, extracted): set CIFAR10_DIR to the folder holding
 * data_batch_1.bin … test_batch.bin (default data/cifar-10-batches-bin).
 *
 * Grids: a RECOLLECTION of the paper's appendix (shared/paper-spec.md §4, [R]); see sweeps/paper-colormnist.ts.
 * The paper's CIFAR-10 networks were probably residual [S/R]; the presets use the DCGAN-style 32×32 networks.
 *
 *   npm run sweep -- sweeps/paper-cifar10.ts --dry-run
 */
import { defineSweep } from '../src/sweep/define.js';

const lr = [1e-4, 2e-4, 5e-4];

export default defineSweep({
  name: 'paper-cifar10',
  models: ['dcgan', 'wgan-gp', 'age', 'alpha-gan'],
  datasets: ['cifar10'],
  budget: 'paper',
  hp: { lrG: lr, lrD: lr, beta1: [0.5, 0.9] },
  perModel: {
    'wgan-gp': { lrG: lr, lrD: lr, beta1: [0, 0.5], nD: 5, gpLambda: 10 },
    // AGE's CIFAR-10 plan: 1 encoder step then 2 generator steps per iteration [C]
    age: { lrG: lr, beta1: [0.5, 0.9], nG: [1, 2] },
    'alpha-gan': { lrG: [2e-4, 5e-4], lrD: [1e-4, 2e-4], beta1: [0.5], nG: [1, 2, 5], reconLambda: [1, 10, 100] },
  },
  seeds: [0],
  metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid'],
  dataDirs: { cifar10: process.env.CIFAR10_DIR ?? 'data/cifar-10-batches-bin' },
  refine: { topK: 3, seeds: [1, 2], metric: 'inception_score' },
});
