/**
 * Throughput of the numeric core of metrics/ (one process, native TF backend):
 * - MS-SSIM pairs per second on 64×64×3 images, compare_gan convention, as sampleDiversity runs it
 *   (all 2,016 distinct pairs of a batch of 64);
 * - Inception score from probabilities, 10,000 × 10 and 10,000 × 1,000 (ms);
 * - FID between two 10,000 × 2,048 feature sets (s), split into moments and the trace of the square root.
 * bench/reference_metrics.py measures the same with NumPy/SciPy. Keys are stable for `npm run bench`.
 */
import { tf } from '../src/backend/index.js';
import { createRng } from '../src/util/rng.js';
import { meanPairwiseMsSsim } from '../metrics/diversity.js';
import { inceptionScoreFromProbs } from '../metrics/inception-score.js';
import { featureMoments, frechetDistanceFromMoments } from '../metrics/fid.js';
import type { Tensor4D } from '@tensorflow/tfjs-node';

function softmaxRows(n: number, c: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const p = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let y = 0; y < c; y++) {
      const v = Math.exp(2 * rng.normal());
      p[i * c + y] = v;
      s += v;
    }
    for (let y = 0; y < c; y++) p[i * c + y] = p[i * c + y]! / s;
  }
  return p;
}

function gaussianFeatures(n: number, d: number, seed: number, shift: number): Float64Array {
  const rng = createRng(seed);
  const x = new Float64Array(n * d);
  // ReLU-like non-negative, correlated features so the covariance is not diagonal
  for (let i = 0; i < n; i++) {
    const common = rng.normal();
    for (let j = 0; j < d; j++) x[i * d + j] = Math.max(0, 0.5 * common + rng.normal() + shift);
  }
  return x;
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

export async function benchMetricsCore(
  opts: { fidRows?: number; fidDim?: number; log?: (msg: string) => void } = {},
): Promise<Record<string, number>> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench metrics-core] ${m}\n`));
  const out: Record<string, number> = {};

  // MS-SSIM: a batch of 64 images in [0, 255]; warm-up on a small batch first (kernel/graph set-up)
  const batch = tf.tidy(() => tf.mul(tf.randomUniform([64, 64, 64, 3], 0, 1, 'float32', 1), 255) as Tensor4D);
  meanPairwiseMsSsim(tf.slice(batch, 0, 8) as Tensor4D);
  let t0 = performance.now();
  const reps = 2;
  for (let r = 0; r < reps; r++) meanPairwiseMsSsim(batch);
  const pairs = (reps * 64 * 63) / 2;
  out.msssim_pairs_per_s = pairs / seconds(t0);
  batch.dispose();
  log(`MS-SSIM 64×64×3 compare_gan: ${out.msssim_pairs_per_s.toFixed(0)} pairs/s`);

  for (const c of [10, 1000]) {
    const p = softmaxRows(10_000, c, 2);
    inceptionScoreFromProbs({ data: p, shape: [10_000, c] }, 10); // warm-up
    t0 = performance.now();
    inceptionScoreFromProbs({ data: p, shape: [10_000, c] }, 10);
    out[`is_10000x${c}_ms`] = seconds(t0) * 1000;
    log(`IS 10,000×${c}: ${out[`is_10000x${c}_ms`]!.toFixed(1)} ms`);
  }

  const n = opts.fidRows ?? 10_000;
  const d = opts.fidDim ?? 2048;
  const a = gaussianFeatures(n, d, 3, 0);
  const b = gaussianFeatures(n, d, 4, 0.05);
  t0 = performance.now();
  const ma = featureMoments({ data: a, shape: [n, d] });
  const mb = featureMoments({ data: b, shape: [n, d] });
  out.fid_moments_s = seconds(t0);
  const t1 = performance.now();
  const fid = frechetDistanceFromMoments(ma.mean, ma.cov, mb.mean, mb.cov);
  out.fid_sqrt_s = seconds(t1);
  out.fid_total_s = seconds(t0);
  out.fid_value = fid;
  log(
    `FID ${n}×${d}: ${out.fid_total_s.toFixed(1)} s (moments ${out.fid_moments_s.toFixed(1)} s, trace sqrt ${out.fid_sqrt_s.toFixed(1)} s), value ${fid.toFixed(4)}`,
  );
  return out;
}

// `tsx bench/metrics-core.ts` runs it on its own and prints JSON
if (import.meta.url === `file://${process.argv[1]}`) {
  const small = process.argv.includes('--small');
  benchMetricsCore(small ? { fidRows: 2000, fidDim: 512 } : {}).then((r) => console.log(JSON.stringify(r, null, 2)));
}
