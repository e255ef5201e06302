/**
 * Pins every loss value of 3 trainSteps of each model (tiny networks, fixed seed, fixed real batch:
 * test/fixtures/pinned-losses.ts) bit for bit, so a refactor that should not change the arithmetic is shown not to.
 * Native TensorFlow on CPU repeats these float32 results exactly run to run. A change that does alter the
 * arithmetic on purpose re-records them (`npx tsx test/fixtures/pinned-losses.ts`) in a commit that says why.
 *
 * Recorded from the code before the models refactor (issue 9.3).
 */
import { describe, expect, it } from 'vitest';
import { MODEL_NAMES, type Losses, type ModelName } from '../src/models/types.js';
import { PINNED_STEPS, pinnedRun } from './fixtures/pinned-losses.js';

const PINNED: Record<ModelName, Losses[]> = {
  dcgan: [
    {
      d: 1.3014297485351562,
      g: 1.0169155597686768,
      d_real: 0.4553438425064087,
      d_fake: 0.3923802077770233,
    },
    {
      d: 1.2219676971435547,
      g: 0.9927260279655457,
      d_real: 0.4911670386791229,
      d_fake: 0.3906835615634918,
    },
    {
      d: 1.2102628946304321,
      g: 0.975958526134491,
      d_real: 0.5247492790222168,
      d_fake: 0.4242452085018158,
    },
  ],
  'wgan-gp': [
    {
      critic: 9.947842597961426,
      gp: 0.9949326515197754,
      w_estimate: 0.0014841087395325303,
      g: -0.00015587153029628098,
    },
    {
      critic: 9.93613052368164,
      gp: 0.9939275979995728,
      w_estimate: 0.003144863061606884,
      g: -0.0000987665553111583,
    },
    {
      critic: 9.923077583312988,
      gp: 0.9928292632102966,
      w_estimate: 0.00521507952362299,
      g: -0.0001881430362118408,
    },
  ],
  age: [
    {
      e: 5.513927459716797,
      g: 2016.977294921875,
      kl_real: 0.8706357479095459,
      kl_fake: 0.9401004314422607,
      recon_x: 0.5583392381668091,
      match_z: 2.016044855117798,
    },
    {
      e: 5.350823879241943,
      g: 1982.1583251953125,
      kl_real: 0.7372368574142456,
      kl_fake: 0.9706583023071289,
      recon_x: 0.5584245324134827,
      match_z: 1.9811936616897583,
    },
    {
      e: 5.22029447555542,
      g: 2010.79248046875,
      kl_real: 0.6765229105949402,
      kl_fake: 1.041283369064331,
      recon_x: 0.5585054755210876,
      match_z: 2.0094168186187744,
    },
  ],
  'alpha-gan': [
    {
      e: 5.567334175109863,
      g: 5.933257102966309,
      d: 2.2235307693481445,
      c: 1.3883800506591797,
      recon_l1: 0.5569215416908264,
    },
    {
      e: 5.554172992706299,
      g: 6.032832622528076,
      d: 2.0651795864105225,
      c: 1.382253646850586,
      recon_l1: 0.5558057427406311,
    },
    {
      e: 5.546239376068115,
      g: 6.341136932373047,
      d: 1.9727861881256104,
      c: 1.3783003091812134,
      recon_l1: 0.5550995469093323,
    },
  ],
};

describe('pinned losses (bit-identical)', () => {
  for (const name of MODEL_NAMES) {
    it(`${name}: ${PINNED_STEPS} trainSteps return exactly the recorded losses`, () => {
      const got = pinnedRun(name);
      expect(got).toHaveLength(PINNED_STEPS);
      got.forEach((losses, step) => {
        expect(Object.keys(losses), `step ${step} keys`).toEqual(Object.keys(PINNED[name][step]));
        for (const [k, v] of Object.entries(PINNED[name][step])) expect(losses[k], `step ${step} ${k}`).toBe(v);
      });
    });
  }
});
