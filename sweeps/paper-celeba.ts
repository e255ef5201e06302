/**
 * The paper-scale CelebA study at 64×64. Needs the `img_align_celeba` folder of JPEGs: set CELEBA_DIR
 * (default data/img_align_celeba); it is decoded once into a cache under .cache/datasets/.
 *
 * Grids: a RECOLLECTION of the paper's appendix (shared/paper-spec.md §4, [R]); see sweeps/paper-colormnist.ts.
 * CelebA has no class labels, so ganstudy has no dataset classifier for it: no Inception-style score and no FID
 * (both need classifier features; the schema refuses them for CelebA). The study ranks by MS-SSIM diversity and
 * the independent critic here; refinement ranks by the critic.
 *
 *   npm run sweep -- sweeps/paper-celeba.ts --dry-run
 */
import { defineSweep } from '../src/sweep/define.js';

const lr = [1e-4, 2e-4, 5e-4];

export default defineSweep({
  name: 'paper-celeba',
  models: ['dcgan', 'wgan-gp', 'age', 'alpha-gan'],
  datasets: ['celeba'],
  budget: 'paper',
  hp: { lrG: lr, lrD: lr, beta1: [0.5, 0.9] },
  perModel: {
    'wgan-gp': { lrG: lr, lrD: lr, beta1: [0, 0.5], nD: 5, gpLambda: 10 },
    // AGE's CelebA plan: 1 encoder step then 3 generator steps per iteration [C]
    age: { lrG: lr, beta1: [0.5, 0.9], nG: [1, 3] },
    'alpha-gan': { lrG: [2e-4, 5e-4], lrD: [1e-4, 2e-4], beta1: [0.5], nG: [1, 2, 5], reconLambda: [1, 10, 100] },
  },
  seeds: [0],
  metrics: ['ms_ssim', 'critic_w'],
  dataDirs: { celeba: process.env.CELEBA_DIR ?? 'data/img_align_celeba' },
  refine: { topK: 3, seeds: [1, 2], metric: 'critic_w' },
});
