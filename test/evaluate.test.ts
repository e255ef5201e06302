/**
 * evaluateGenerator and `ganstudy evaluate` end to end on the real ColorMNIST digits.
 *
 * Two "generators" with known behaviour: `faithful` draws real training images (a perfect generator up to the
 * train/test split), `collapsed` returns copies of one image (total mode collapse). What must hold, and why:
 * - collapsed: IS = 1 exactly (identical rows, KL = 0; tolerance 1e-6), MS-SSIM = 1 (every pair identical;
 *   tolerance 1e-6), FID and Ŵ far above the faithful generator's.
 * - faithful: IS close to the same classifier's IS on real test images (same distribution; tolerance 1.0 at 200
 *   images / 5 splits), MS-SSIM within 0.05 of the real test images' (same distribution, 4 × 32 images).
 * - real-data references: every score's `<metric>_real` on the same protocol; FID's floor between two halves of
 *   the real data is far below the collapsed generator's FID; Ŵ's reference is 0 by definition.
 * - modes_covered: real ColorMNIST covers (nearly) all 70 (digit, colour) classes, the faithful generator within
 *   3 of the real count, the collapsed one exactly 1; a planted single-colour collapse (real digits, all red)
 *   covers at most the 10 red classes although its Inception-style score stays high.
 * The CLI writes PNGs of real digits, runs in a child process, and must print one JSON object with the scores on
 * stdout and progress on stderr.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { writeImages } from '../src/data/images.js';
import type { Dataset } from '../src/data/types.js';
import { buildIndependentCritic } from '../src/models/index.js';
import {
  evaluateGenerator,
  getDatasetClassifier,
  inceptionScore,
  modesCovered,
  type CriticSpec,
  type EvalProtocol,
  type EvalReport,
} from '../metrics/index.js';

const exec = promisify(execFile);
const tsx = 'node_modules/.bin/tsx';

const protocol: EvalProtocol = {
  inceptionSamples: 200,
  inceptionSplits: 5,
  diversityBatches: 4,
  diversityBatchSize: 32,
  criticSteps: 40,
  criticBatchSize: 32,
  // the paper's 28×28 critic at 1/8 width and a faster learning rate: fast enough for CI
  criticWidth: 0.125,
  criticLr: 1e-3,
  fidSamples: 200,
  classifierSteps: 300,
  modesSamples: 1_000,
  modesMinCount: 3,
};

/** generous: the machine that runs CI may be shared (these take a tenth of this on an idle 2-core machine) */
const SLOW = 300_000;
describe('evaluateGenerator and ganstudy evaluate', () => {
  let dataset: Dataset;
  let cacheDir: string;
  let faithful: EvalReport;
  let collapsed: EvalReport;
  const messages: string[] = [];
  const criticSpecs: CriticSpec[] = [];

  beforeAll(async () => {
    dataset = await loadDataset({ name: 'colormnist' });
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-eval-'));
    const one = dataset.train.sample(1, 99).x;
    const common = {
      reference: dataset.test,
      criticTrain: dataset.validation,
      classifierData: dataset,
      protocol,
      metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid', 'modes_covered'] as const,
      sampleSeed: 3,
      cacheDir,
      buildCritic: (spec: CriticSpec) => {
        criticSpecs.push(spec);
        return buildIndependentCritic(spec);
      },
    };
    const t0 = performance.now();
    faithful = await evaluateGenerator({
      ...common,
      sample: (n, seed) => {
        const b = dataset.train.sample(n, seed);
        b.y?.dispose();
        return b.x;
      },
      onProgress: (m) => messages.push(m),
    });
    const t1 = performance.now();
    collapsed = await evaluateGenerator({ ...common, sample: (n) => tf.tile(one, [n, 1, 1, 1]) as Tensor4D });
    console.log(
      `evaluateGenerator: faithful ${JSON.stringify(faithful.scores)} (${((t1 - t0) / 1000).toFixed(1)} s incl. classifier training)\n` +
        `collapsed ${JSON.stringify(collapsed.scores)} (${((performance.now() - t1) / 1000).toFixed(1)} s)`,
    );
    one.dispose();
  }, SLOW);
  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('reports every requested score, which classifier produced them, and the critic curve', () => {
    expect(Object.keys(faithful.scores).sort()).toEqual(
      [
        'classifier_accuracy',
        'critic_w',
        'critic_w_real',
        'critic_w_train',
        'fid',
        'fid_real',
        'inception_score',
        'inception_score_real',
        'inception_score_std',
        'kid',
        'kid_real',
        'kid_std',
        'modes_covered',
        'modes_covered_real',
        'ms_ssim',
        'ms_ssim_real',
      ].sort(),
    );
    // every reference says how it was computed
    for (const k of Object.keys(faithful.scores).filter((x) => x.endsWith('_real'))) {
      expect(faithful.references[k]?.note.length).toBeGreaterThan(0);
    }
    for (const v of Object.values(faithful.scores)) expect(Number.isFinite(v)).toBe(true);
    expect(faithful.classifier).toMatch(/^colormnist-digit-cnn@[0-9a-f]{16}$/);
    expect(collapsed.classifier).toBe(faithful.classifier);
    expect(faithful.scores.classifier_accuracy).toBeGreaterThan(0.85);
    expect(faithful.classifierAccuracy).toBe(faithful.scores.classifier_accuracy);
    expect(faithful.criticCurve.at(-1)?.step).toBe(protocol.criticSteps);
    for (const m of ['classifier', 'inception_score', 'ms_ssim', 'critic_w', 'fid', 'modes_covered']) {
      expect(messages.some((s) => s.startsWith(m))).toBe(true);
    }
  });

  it('a collapsed generator scores IS = 1, MS-SSIM = 1 and worse FID and Ŵ than a faithful one', () => {
    expect(Math.abs(collapsed.scores.inception_score - 1)).toBeLessThan(1e-6);
    expect(Math.abs(collapsed.scores.ms_ssim - 1)).toBeLessThan(1e-6);
    expect(faithful.scores.inception_score).toBeGreaterThan(5);
    expect(Math.abs(faithful.scores.inception_score - faithful.scores.inception_score_real)).toBeLessThan(1.0);
    expect(Math.abs(faithful.scores.ms_ssim - faithful.scores.ms_ssim_real)).toBeLessThan(0.05);
    expect(collapsed.scores.fid).toBeGreaterThan(5 * faithful.scores.fid);
    expect(collapsed.scores.critic_w).toBeGreaterThan(faithful.scores.critic_w + 0.5);
    expect(collapsed.scores.kid).toBeGreaterThan(faithful.scores.kid);
  });

  it('computes real-data references on the same protocol', () => {
    // IS of real images at the protocol's count (200 of the 1,000 test images, without replacement) and splits
    expect(faithful.references.inception_score_real).toMatchObject({
      images: protocol.inceptionSamples,
      withReplacement: false,
    });
    expect(faithful.scores.inception_score_real).toBeGreaterThan(5);
    expect(faithful.references.ms_ssim_real?.images).toBe(protocol.diversityBatches * protocol.diversityBatchSize);
    // the FID floor (two halves of real test images) is below the faithful generator's and far below collapse
    expect(faithful.scores.fid_real).toBeGreaterThan(0);
    expect(faithful.scores.fid_real).toBeLessThan(collapsed.scores.fid / 5);
    expect(faithful.references.fid_real?.images).toBe(2 * protocol.fidSamples);
    expect(faithful.scores.kid_real).toBeLessThan(collapsed.scores.kid);
    expect(faithful.scores.critic_w_real).toBe(0);
    // the same reference whatever the generator: references depend on the split and seed only
    expect(collapsed.scores.inception_score_real).toBe(faithful.scores.inception_score_real);
    expect(collapsed.scores.fid_real).toBe(faithful.scores.fid_real);
  });

  it('builds the critic at the protocol width with the protocol seed, not the model width', () => {
    expect(criticSpecs.length).toBe(2);
    for (const spec of criticSpecs) expect(spec).toMatchObject({ width: protocol.criticWidth, shape: [28, 28, 3] });
  });

  it(
    'counts (digit, colour) modes: real data covers them, collapse does not',
    async () => {
      expect(faithful.scores.modes_covered_real).toBeGreaterThanOrEqual(68);
      expect(Math.abs(faithful.scores.modes_covered - faithful.scores.modes_covered_real)).toBeLessThanOrEqual(3);
      expect(collapsed.scores.modes_covered).toBeLessThanOrEqual(1);
      // a planted single-colour collapse: real digits, every image red (green and blue channels off)
      const clf = await getDatasetClassifier(dataset, { steps: protocol.classifierSteps, seed: 0, cacheDir });
      const n = 1_000;
      const b = dataset.test.sample(n, 11);
      b.y?.dispose();
      const red = tf.tidy(() => {
        const grey = tf.max(b.x, 3, true) as Tensor4D;
        return tf.concat([grey, tf.fill(grey.shape, -1), tf.fill(grey.shape, -1)], 3) as Tensor4D;
      });
      try {
        const source = (start: number, count: number) => tf.slice(red, start, count) as Tensor4D;
        const m = modesCovered(source, n, clf, { minCount: 3 });
        expect(m.covered).toBeLessThanOrEqual(10);
        expect(m.covered).toBeGreaterThanOrEqual(9);
        // the digit classifier does not see the collapse
        expect(inceptionScore(red, clf, { splits: 5 }).mean).toBeGreaterThan(5);
        const real = modesCovered((start, count) => tf.slice(b.x, start, count) as Tensor4D, n, clf, { minCount: 3 });
        expect(real.covered).toBeGreaterThanOrEqual(68);
      } finally {
        tf.dispose([b.x, red]);
        clf.dispose();
      }
    },
    SLOW,
  );

  it('computes only the metrics asked for', async () => {
    const r = await evaluateGenerator({
      sample: (n, seed) => dataset.test.sample(n, seed).x,
      reference: dataset.test,
      protocol,
      metrics: ['ms_ssim'],
      sampleSeed: 1,
      cacheDir,
    });
    expect(Object.keys(r.scores).sort()).toEqual(['ms_ssim', 'ms_ssim_real']);
    expect(r.classifier).toBeNull();
    expect(r.criticCurve).toEqual([]);
    await expect(
      evaluateGenerator({
        sample: (n) => tf.zeros([n, 28, 28, 3]) as Tensor4D,
        reference: dataset.test,
        protocol: { ...protocol, inceptionSplits: 0 },
        metrics: ['ms_ssim'],
        sampleSeed: 1,
        cacheDir,
      }),
    ).rejects.toThrow(/protocol\.inceptionSplits/);
    await expect(
      evaluateGenerator({
        sample: (n) => tf.zeros([n, 28, 28, 3]) as Tensor4D,
        reference: dataset.test,
        protocol,
        metrics: ['critic_w'],
        sampleSeed: 1,
        cacheDir,
      }),
    ).rejects.toThrow(/buildCritic/);
  });

  it(
    '`ganstudy evaluate <folder> --against colormnist` prints the scores as JSON',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-eval-png-'));
      try {
        const b = dataset.train.sample(120, 5);
        await writeImages(b.x, dir);
        tf.dispose([b.x, b.y!]);
        const { stdout, stderr } = await exec(
          tsx,
          [
            'src/cli/main.ts',
            'evaluate',
            dir,
            '--against',
            'colormnist',
            '--json',
            '--classifier-steps',
            String(protocol.classifierSteps),
            '--cache-dir',
            cacheDir,
            '--critic-steps',
            '5',
            '--critic-width',
            '0.125',
            '--diversity-batches',
            '2',
            '--diversity-batch-size',
            '16',
            '--splits',
            '5',
          ],
          { maxBuffer: 16 << 20 },
        );
        const out = JSON.parse(stdout) as {
          count: number;
          classifier: string;
          scores: Record<string, number>;
          metrics: string[];
          criticCurve: unknown[];
        };
        expect(stdout.trim().split('\n')).toHaveLength(1);
        expect(out.count).toBe(120);
        // the same cached dataset classifier as the library calls above (no second training)
        expect(out.classifier).toBe(faithful.classifier);
        expect(stderr).toContain('loaded from');
        expect(out.metrics).toEqual(['inception_score', 'ms_ssim', 'critic_w', 'fid']);
        for (const k of ['inception_score', 'ms_ssim', 'ms_ssim_real', 'critic_w', 'critic_w_train', 'fid']) {
          expect(Number.isFinite(out.scores[k])).toBe(true);
        }
        // real digits written to PNG and read back (8-bit rounding) are still digits to the classifier
        expect(out.scores.inception_score).toBeGreaterThan(4);
        expect(out.criticCurve.length).toBeGreaterThan(0);
        expect(stderr).toContain('[evaluate] ms_ssim');

        // without a reference: only what needs none; asking for more fails with what to add
        const alone = await exec(tsx, [
          'src/cli/main.ts',
          'evaluate',
          dir,
          '--json',
          '--quiet',
          '--diversity-batches',
          '1',
          '--diversity-batch-size',
          '8',
          '--size',
          '28',
        ]);
        const aloneOut = JSON.parse(alone.stdout) as { scores: Record<string, number>; classifier: string | null };
        expect(Object.keys(aloneOut.scores)).toEqual(['ms_ssim']);
        expect(aloneOut.classifier).toBeNull();
        expect(alone.stderr).toBe('');
        const bad = await exec(tsx, ['src/cli/main.ts', 'evaluate', dir, '--metrics', 'fid']).then(
          () => null,
          (e: { code: number; stderr: string }) => e,
        );
        expect(bad?.code).toBe(2);
        expect(bad?.stderr).toContain('fid compares with reference images: add --against');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});
