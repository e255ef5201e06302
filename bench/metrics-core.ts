/**
 * Throughput of the numeric core of metrics/ (one process, native TF backend):
 * - MS-SSIM pairs per second on 64×64×3 images, compare_gan convention, as sampleDiversity runs it
 *   (all 2,016 distinct pairs of a batch of 64);
 * - Inception score from probabilities, 10,000 × 10 and 10,000 × 1,000 (ms, median of 7);
 * - FID between two 10,000 × 2,048 feature sets (s), split into moments and the trace of the square root;
 * IS and FID on both float64 providers (metrics/float64.ts): libtensorflow (keys as before) and JavaScript (`_js`).
 * bench/reference_metrics.py measures the same with NumPy/SciPy. Keys are stable for `npm run bench`.
 */
import { tf } from '../src/backend/index.js';
import { createRng } from '../src/util/rng.js';
import { meanPairwiseMsSsim } from '../metrics/diversity.js';
import { inceptionScoreFromProbs, splitIndex } from '../metrics/inception-score.js';
import { featureMoments, frechetDistanceFromMoments } from '../metrics/fid.js';
import { setFloat64Backend, type Float64BackendName } from '../metrics/float64.js';
import { nativeFloat64Kernels, type TfBinding } from '../metrics/float64-native.js';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { medianMs } from './models.js';

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

/** The provider metrics use by default first, then the JavaScript one it replaced (before and after in one run). */
const FLOAT64_PROVIDERS: Float64BackendName[] = ['libtensorflow', 'javascript'];
const IS_REPEATS = 7;

/** FID between two n × d feature sets: moments, trace of the square root, total (s), and the value. */
function benchFid(
  a: Float64Array,
  b: Float64Array,
  n: number,
  d: number,
  tag: string,
  log: (msg: string) => void,
): Record<string, number> {
  const t0 = performance.now();
  const ma = featureMoments({ data: a, shape: [n, d] });
  const mb = featureMoments({ data: b, shape: [n, d] });
  const moments = seconds(t0);
  const t1 = performance.now();
  const fid = frechetDistanceFromMoments(ma.mean, ma.cov, mb.mean, mb.cov);
  const sqrt = seconds(t1);
  const total = seconds(t0);
  log(
    `FID ${n}×${d} (${tag || 'libtensorflow'}): ${total.toFixed(1)} s (moments ${moments.toFixed(1)} s, trace sqrt ${sqrt.toFixed(1)} s), value ${fid.toFixed(4)}`,
  );
  return {
    [`fid_moments${tag}_s`]: moments,
    [`fid_sqrt${tag}_s`]: sqrt,
    [`fid_total${tag}_s`]: total,
    [`fid_value${tag}`]: fid,
  };
}

/** A binding that adds each call's wall time to `times`, under the op's name (creation and reads under their own). */
function timedBinding(b: TfBinding, times: Map<string, number>): TfBinding {
  const timed = <R>(label: string, f: () => R): R => {
    const t0 = performance.now();
    const r = f();
    times.set(label, (times.get(label) ?? 0) + performance.now() - t0);
    return r;
  };
  return {
    TF_FLOAT: b.TF_FLOAT,
    TF_INT32: b.TF_INT32,
    TF_ATTR_TYPE: b.TF_ATTR_TYPE,
    TF_ATTR_BOOL: b.TF_ATTR_BOOL,
    createTensor: (shape, dtype, data) => timed('createTensor (copy in)', () => b.createTensor(shape, dtype, data)),
    executeOp: (name, attrs, inputs, outputs) => timed(name, () => b.executeOp(name, attrs, inputs, outputs)),
    tensorDataSync: (id) => timed('tensorDataSync (copy out)', () => b.tensorDataSync(id)),
    deleteTensor: (id) => timed('deleteTensor', () => b.deleteTensor(id)),
  };
}

/** Per-op wall time (ms, median call of 7 after a warm-up) of the libtensorflow IS kernel on 10,000 × c. */
function profileIsOps(p: Float64Array, c: number, log: (msg: string) => void): Record<string, number> {
  const binding = (tf.backend() as unknown as { binding: TfBinding }).binding;
  const splitOf = splitIndex(10_000, 10);
  const runs: Map<string, number>[] = [];
  for (let r = 0; r < 8; r++) {
    const times = new Map<string, number>();
    nativeFloat64Kernels(timedBinding(binding, times)).probabilityRowStats(p, 10_000, c, splitOf, 10);
    if (r > 0) runs.push(times);
  }
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const median = runs.sort((a, b) => total(a) - total(b))[Math.floor(runs.length / 2)]!;
  const out: Record<string, number> = {};
  for (const [op, ms] of [...median].sort((a, b) => b[1] - a[1])) out[`profile_is_10000x${c}_${op}_ms`] = ms;
  log(`IS 10,000×${c} libtensorflow ops: ${[...median].map(([op, ms]) => `${op} ${ms.toFixed(2)}`).join(', ')} ms`);
  return out;
}

export async function benchMetricsCore(
  opts: { fidRows?: number; fidDim?: number; profile?: boolean; log?: (msg: string) => void } = {},
): Promise<Record<string, number>> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench metrics-core] ${m}\n`));
  const out: Record<string, number> = {};

  // MS-SSIM: a batch of 64 images in [0, 255]; warm-up on a small batch first (kernel/graph set-up)
  const batch = tf.tidy(() => tf.mul(tf.randomUniform([64, 64, 64, 3], 0, 1, 'float32', 1), 255) as Tensor4D);
  meanPairwiseMsSsim(tf.slice(batch, 0, 8) as Tensor4D);
  const t0 = performance.now();
  const reps = 2;
  for (let r = 0; r < reps; r++) meanPairwiseMsSsim(batch);
  const pairs = (reps * 64 * 63) / 2;
  out.msssim_pairs_per_s = pairs / seconds(t0);
  batch.dispose();
  log(`MS-SSIM 64×64×3 compare_gan: ${out.msssim_pairs_per_s.toFixed(0)} pairs/s`);

  // the same inputs for both providers (and the profile), made once
  const probs = new Map([10, 1000].map((c) => [c, softmaxRows(10_000, c, 2)] as const));
  const n = opts.fidRows ?? 10_000;
  const d = opts.fidDim ?? 2048;
  const features = [gaussianFeatures(n, d, 3, 0), gaussianFeatures(n, d, 4, 0.05)] as const;
  for (const provider of FLOAT64_PROVIDERS) {
    setFloat64Backend(provider);
    const tag = provider === 'libtensorflow' ? '' : '_js';
    for (const [c, p] of probs) {
      const key = `is_10000x${c}${tag}_ms`;
      out[key] = medianMs(() => inceptionScoreFromProbs({ data: p, shape: [10_000, c] }, 10), 1, IS_REPEATS);
      log(`IS 10,000×${c} (${provider} float64): ${out[key].toFixed(1)} ms, median of ${IS_REPEATS}`);
    }
    Object.assign(out, benchFid(features[0], features[1], n, d, tag, log));
  }
  setFloat64Backend(FLOAT64_PROVIDERS[0]);
  if (opts.profile) for (const [c, p] of probs) Object.assign(out, profileIsOps(p, c, log));
  return out;
}

// `tsx bench/metrics-core.ts` runs it on its own and prints JSON
if (import.meta.url === `file://${process.argv[1]}`) {
  const small = process.argv.includes('--small');
  benchMetricsCore({
    ...(small ? { fidRows: 2000, fidDim: 512 } : {}),
    profile: process.argv.includes('--profile'),
  }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
