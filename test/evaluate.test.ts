/**
 * evaluateGenerator and `ganstudy evaluate` end to end on the real ColorMNIST digits.
 *
 * Two "generators" with known behaviour: `faithful` draws real training images (a perfect generator up to the
 * train/test split), `collapsed` returns copies of one image (total mode collapse). What must hold, and why:
 * - collapsed: IS = 1 exactly (identical rows, KL = 0; tolerance 1e-6), MS-SSIM = 1 (every pair identical;
 *   tolerance 1e-6), FID and Ŵ far above the faithful generator's.
 * - faithful: IS close to the same classifier's IS on real test images (same distribution; tolerance 1.0 at 200
 *   images / 5 splits), MS-SSIM within 0.05 of the real test images' (same distribution, 2 × 16 images).
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
import { evaluateGenerator, type EvalProtocol, type EvalReport } from '../metrics/index.js';

const exec = promisify(execFile);
const tsx = 'node_modules/.bin/tsx';

const protocol: EvalProtocol = {
  inceptionSamples: 200,
  inceptionSplits: 5,
  diversityBatches: 2,
  diversityBatchSize: 16,
  criticSteps: 40,
  criticBatchSize: 32,
  fidSamples: 200,
  classifierSteps: 300,
};


/** generous: the machine that runs CI may be shared (these take a tenth of this on an idle 2-core machine) */
const SLOW = 300_000;
describe('evaluateGenerator and ganstudy evaluate', () => {
  let dataset: Dataset;
  let cacheDir: string;
  let faithful: EvalReport;
  let collapsed: EvalReport;
  const messages: string[] = [];

  beforeAll(async () => {
    dataset = await loadDataset({ name: 'colormnist' });
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-eval-'));
    const one = dataset.train.sample(1, 99).x;
    const common = {
      dataset,
      protocol,
      metrics: ['inception_score', 'ms_ssim', 'critic_w', 'fid'] as const,
      seed: 3,
      cacheDir,
      // the paper's 28×28 critic at 1/8 width: the default builder path, fast enough for CI
      criticArch: { resolution: 28 as const, channels: 3, zDim: 128, widthMultiplier: 0.125 },
      criticLr: 1e-3,
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
        'critic_w_train',
        'fid',
        'inception_score',
        'inception_score_real',
        'inception_score_std',
        'kid',
        'kid_std',
        'ms_ssim',
        'ms_ssim_real',
      ].sort(),
    );
    for (const v of Object.values(faithful.scores)) expect(Number.isFinite(v)).toBe(true);
    expect(faithful.classifier).toMatch(/^colormnist-digit-cnn@[0-9a-f]{16}$/);
    expect(collapsed.classifier).toBe(faithful.classifier);
    expect(faithful.scores.classifier_accuracy).toBeGreaterThan(0.85);
    expect(faithful.classifierAccuracy).toBe(faithful.scores.classifier_accuracy);
    expect(faithful.criticCurve.at(-1)?.step).toBe(protocol.criticSteps);
    for (const m of ['classifier', 'inception_score', 'ms_ssim', 'critic_w', 'fid']) {
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

  it('computes only the metrics asked for', async () => {
    const r = await evaluateGenerator({
      sample: (n, seed) => dataset.test.sample(n, seed).x,
      dataset,
      protocol,
      metrics: ['ms_ssim'],
      seed: 1,
      cacheDir,
    });
    expect(Object.keys(r.scores).sort()).toEqual(['ms_ssim', 'ms_ssim_real']);
    expect(r.classifier).toBeNull();
    expect(r.criticCurve).toEqual([]);
    await expect(
      evaluateGenerator({ sample: (n) => tf.zeros([n, 28, 28, 3]) as Tensor4D, dataset, protocol: { ...protocol, inceptionSplits: 0 }, metrics: ['ms_ssim'], seed: 1, cacheDir }),
    ).rejects.toThrow(/protocol\.inceptionSplits/);
  });

  it('`ganstudy evaluate <folder> --against colormnist` prints the scores as JSON', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-eval-png-'));
    try {
      const b = dataset.train.sample(120, 5);
      await writeImages(b.x, dir);
      tf.dispose([b.x, b.y!]);
      const { stdout, stderr } = await exec(
        tsx,
        [
          'src/cli/main.ts', 'evaluate', dir, '--against', 'colormnist', '--json',
          '--classifier-steps', String(protocol.classifierSteps), '--cache-dir', cacheDir,
          '--critic-steps', '5', '--critic-width', '0.125', '--diversity-batches', '2', '--diversity-batch-size', '16', '--splits', '5',
        ],
        { maxBuffer: 16 << 20 },
      );
      const out = JSON.parse(stdout) as { count: number; classifier: string; scores: Record<string, number>; metrics: string[]; criticCurve: unknown[] };
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
      const alone = await exec(tsx, ['src/cli/main.ts', 'evaluate', dir, '--json', '--quiet', '--diversity-batches', '1', '--diversity-batch-size', '8', '--size', '28']);
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
  }, SLOW);
});
