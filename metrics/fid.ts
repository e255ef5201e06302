/**
 * Fréchet distance (FID, Heusel et al. 2017) between two sets of classifier features, every reduction in float64
 * (torch-fidelity's metric_fid.py / pytorch-fid are the model):
 *
 *   FID = ||μ1 − μ2||² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^½
 *
 * with unbiased covariances (N − 1, as numpy.cov in pytorch-fid / TTUR); tr (Σ1 Σ2)^½ as linalg.ts computes it.
 */
import { toMatrix64, type Matrix64 } from './inputs.js';
import { float64Kernels } from './float64.js';
import { traceSqrtProduct } from './linalg.js';

export interface FeatureMoments {
  /** D means */
  mean: Float64Array;
  /** D × D unbiased covariance, row-major */
  cov: Float64Array;
  dim: number;
  count: number;
}

/** Mean and unbiased (N − 1) covariance of the rows of an N × D matrix, in float64. */
export function featureMoments(features: unknown, name = 'features'): FeatureMoments {
  const m = toMatrix64(features, name);
  return momentsOf(m, name);
}

function momentsOf(m: Matrix64, name: string): FeatureMoments {
  const { data, rows: n, cols: d } = m;
  if (n < 2) throw new RangeError(`${name}: need at least 2 rows to estimate a covariance; got shape [${n}, ${d}]`);
  const { mean, cov } = float64Kernels().columnMoments(data, n, d);
  return { mean, cov, dim: d, count: n };
}

function asVector(v: unknown, name: string): Float64Array {
  if (v instanceof Float64Array) return v;
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    const out = Float64Array.from(v as ArrayLike<number>);
    if (out.some((x) => !Number.isFinite(x))) throw new RangeError(`${name}: all entries must be finite numbers`);
    return out;
  }
  throw new TypeError(`${name}: expected a vector (number[] or Float64Array); got ${typeof v}`);
}

function asSquare(m: unknown, n: number, name: string): Float64Array {
  if (m instanceof Float64Array && m.length === n * n) return m;
  const mat = toMatrix64(m, name);
  if (mat.rows !== n || mat.cols !== n)
    throw new RangeError(`${name}: expected a ${n}×${n} matrix; got shape [${mat.rows}, ${mat.cols}]`);
  return mat.data;
}

/**
 * Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2): ||μ1 − μ2||² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^½.
 * Covariances as D×D (number[][], flat row-major Float64Array of length D², tensor, …).
 */
export function frechetDistanceFromMoments(mu1: unknown, sigma1: unknown, mu2: unknown, sigma2: unknown): number {
  const m1 = asVector(mu1, 'frechetDistanceFromMoments mu1');
  const m2 = asVector(mu2, 'frechetDistanceFromMoments mu2');
  const n = m1.length;
  if (m2.length !== n)
    throw new RangeError(`frechetDistanceFromMoments: mu1 has ${n} entries but mu2 has ${m2.length}`);
  const s1 = asSquare(sigma1, n, 'frechetDistanceFromMoments sigma1');
  const s2 = asSquare(sigma2, n, 'frechetDistanceFromMoments sigma2');
  let diff = 0;
  let tr = 0;
  for (let i = 0; i < n; i++) {
    diff += (m1[i]! - m2[i]!) ** 2;
    tr += s1[i * n + i]! + s2[i * n + i]!;
  }
  return diff + tr - 2 * traceSqrtProduct(s1, s2, n);
}

/** FID between two N×D feature matrices (rows = images), float64 throughout. */
export function frechetDistance(featuresA: unknown, featuresB: unknown): number {
  const a = toMatrix64(featuresA, 'frechetDistance featuresA');
  const b = toMatrix64(featuresB, 'frechetDistance featuresB');
  if (a.cols !== b.cols) {
    throw new RangeError(
      `frechetDistance: featuresA has ${a.cols} features per row but featuresB has ${b.cols} (shapes [${a.rows}, ${a.cols}] and [${b.rows}, ${b.cols}])`,
    );
  }
  const ma = momentsOf(a, 'frechetDistance featuresA');
  const mb = momentsOf(b, 'frechetDistance featuresB');
  return frechetDistanceFromMoments(ma.mean, ma.cov, mb.mean, mb.cov);
}
