/**
 * The float64 kernels under the Inception score, FID and KID, from one of two providers with the same contract:
 * - `libtensorflow`: TensorFlow's own DT_DOUBLE kernels (float64-native.ts), when the native backend is loaded;
 * - `javascript`: plain loops over Float64Array (linalg-js.ts), when only the pure-JS TF.js backend loads.
 * Both compute every sum in float64; the tests hold each to the other and to closed forms. The metrics call
 * `float64Kernels()`; `setFloat64Backend` switches (tests run both).
 */
import { z } from 'zod';
import { isNative, tf } from '../src/backend/index.js';
import { nativeFloat64Kernels, type TfBinding } from './float64-native.js';
import { javascriptFloat64Kernels } from './linalg-js.js';

export const Float64BackendSchema = z.enum(['libtensorflow', 'javascript']);
export type Float64BackendName = z.infer<typeof Float64BackendSchema>;

export interface ProbabilityRowStats {
  /** Σ_y p_iy for every row */
  rowSums: Float64Array;
  /** Σ_y p_iy ln p_iy for every row, a zero entry contributing 0 (the limit of x ln x); NaN if an entry is negative or NaN */
  rowXLogX: Float64Array;
  /** Σ_{i in split s} p_iy: splits × C, row-major */
  splitColumnSums: Float64Array;
}

export interface Float64Kernels {
  readonly name: Float64BackendName;
  /**
   * A · Bᵀ for row-major A (n × d) and B (m × d) → n × m. `hints` may let a provider skip work: with `upper` the
   * caller reads only the blocks on and above the diagonal; with `aUpperTriangular` row r of A is zero before column r.
   */
  gram(
    A: Float64Array,
    n: number,
    B: Float64Array,
    m: number,
    d: number,
    hints?: { upper?: boolean; aUpperTriangular?: boolean },
  ): Float64Array;
  /** Eigenvalues (any order) of a symmetric n × n matrix of which only the lower triangle is read. */
  symmetricEigenvalues(S: Float64Array, n: number): Float64Array;
  /** Column means and the unbiased (N − 1) covariance (exactly symmetric) of the rows of an N × D matrix. */
  columnMoments(X: Float64Array, n: number, d: number): { mean: Float64Array; cov: Float64Array };
  /** Row sums, Σ p ln p per row and column sums per split of an N × C matrix; `splitOf[i]` is row i's split (non-decreasing). */
  probabilityRowStats(
    P: Float64Array | Float32Array,
    n: number,
    c: number,
    splitOf: Int32Array,
    splits: number,
  ): ProbabilityRowStats;
}

function nativeBinding(): TfBinding | null {
  if (!isNative()) return null;
  const binding = (tf.backend() as unknown as { binding?: TfBinding }).binding;
  return binding && typeof binding.executeOp === 'function' ? binding : null;
}

function kernelsFor(name: Float64BackendName): Float64Kernels {
  if (name === 'javascript') return javascriptFloat64Kernels;
  const binding = nativeBinding();
  if (!binding) throw new Error('float64 backend libtensorflow: the native TensorFlow backend is not loaded');
  return nativeFloat64Kernels(binding);
}

let active: Float64Kernels | null = null;

/** The provider named by GANSTUDY_FLOAT64_KERNELS, if set (e.g. to keep the metrics off an untested device). */
function providerFromEnv(): Float64BackendName | null {
  const v = process.env.GANSTUDY_FLOAT64_KERNELS;
  if (v === undefined || v === '') return null;
  const parsed = Float64BackendSchema.safeParse(v);
  if (!parsed.success) {
    throw new Error(`GANSTUDY_FLOAT64_KERNELS: expected 'libtensorflow' or 'javascript'; got '${v}'`);
  }
  return parsed.data;
}

/**
 * The active provider: GANSTUDY_FLOAT64_KERNELS if set, else libtensorflow where the native backend is loaded,
 * otherwise JavaScript.
 */
export function float64Kernels(): Float64Kernels {
  active ??= kernelsFor(providerFromEnv() ?? (nativeBinding() ? 'libtensorflow' : 'javascript'));
  return active;
}

/** Switches the provider (e.g. to compare the two); fails if libtensorflow is asked for and not loaded. */
export function setFloat64Backend(name: Float64BackendName): void {
  active = kernelsFor(Float64BackendSchema.parse(name));
}
