/**
 * The README's example: a grid over lrG, sampled beta1 and α-GAN's λ, and a refine phase.
 * npm run sweep -- sweeps/example-random-search.ts --dry-run
 */
import { defineSweep, logUniform, uniform } from '../src/sweep/define.js';

export default defineSweep({
  name: 'example-random-search', // the MLflow experiment
  models: ['dcgan', 'alpha-gan'],
  datasets: ['colormnist'],
  budget: 'quick', // or 'paper' (experiments/)
  hp: { lrG: [1e-4, 2e-4], beta1: uniform(0.3, 0.7) }, // lists are grids; choice/uniform/logUniform are sampled
  perModel: { 'alpha-gan': { reconLambda: logUniform(1, 30) } },
  samples: 4, // random draws for the sampled fields
  seeds: [1],
  metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid'],
  refine: { topK: 2, seeds: [2, 3], metric: 'critic_w' }, // phase 2: best settings again with new seeds
});
