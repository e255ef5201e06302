/**
 * The two float64 providers of metrics/float64.ts against each other, kernel by kernel, and against independent
 * references (ml-matrix's eigenvalues, exact products by the identity). Tolerances are stated per check; both sides
 * compute in float64, so they differ only by summation order (relative 1e-12 and below at these sizes).
 */
import { describe, expect, it, vi } from 'vitest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { isNative } from '../src/backend/index.js';
import { createRng } from '../src/util/rng.js';
import { float64Kernels, setFloat64Backend, type Float64BackendName } from '../metrics/float64.js';
import { nativeFloat64Kernels, type TfBinding } from '../metrics/float64-native.js';
import { javascriptFloat64Kernels as js } from '../metrics/linalg-js.js';
import { tf } from '../src/backend/index.js';
import { frechetDistance } from '../metrics/fid.js';
import { splitIndex } from '../metrics/inception-score.js';

const native = nativeFloat64Kernels((tf.backend() as unknown as { binding: TfBinding }).binding);

function randomMatrix(rows: number, cols: number, seed: number, f: (z: number) => number = (z) => z): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: rows * cols }, () => f(rng.normal()));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const maxAbs = (a: ArrayLike<number>): number => Math.max(...Array.from(a, Math.abs));
const sorted = (a: ArrayLike<number>): number[] => Array.from(a).sort((x, y) => x - y);

/** Softmax rows with a few exact zeros, n × c. */
function probabilityRows(n: number, c: number, seed: number): Float64Array {
  const p = randomMatrix(n, c, seed, (z) => Math.exp(2 * z));
  for (let i = 0; i < n; i += 7) p[i * c + (i % c)] = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let y = 0; y < c; y++) s += p[i * c + y]!;
    for (let y = 0; y < c; y++) p[i * c + y] = p[i * c + y]! / s;
  }
  return p;
}

describe('float64 providers', () => {
  it('libtensorflow is the provider whenever the native backend is loaded (the suite runs on it)', () => {
    expect(isNative()).toBe(true);
    expect(float64Kernels().name).toBe('libtensorflow');
  });

  it('GANSTUDY_FLOAT64_KERNELS picks the provider, and a wrong value is refused by name', async () => {
    const fresh = async (value: string): Promise<typeof import('../metrics/float64.js')> => {
      vi.resetModules();
      process.env.GANSTUDY_FLOAT64_KERNELS = value;
      return import('../metrics/float64.js');
    };
    try {
      expect((await fresh('javascript')).float64Kernels().name).toBe('javascript');
      expect((await fresh('')).float64Kernels().name).toBe('libtensorflow');
      const wrong = await fresh('numpy');
      expect(() => wrong.float64Kernels()).toThrow(
        /GANSTUDY_FLOAT64_KERNELS: expected 'libtensorflow' or 'javascript'; got 'numpy'/,
      );
    } finally {
      delete process.env.GANSTUDY_FLOAT64_KERNELS;
      vi.resetModules();
    }
  });

  it('moves float64 data in and out of TensorFlow bit for bit (A · I = A); arithmetic flushes subnormals to 0', () => {
    const special = [Math.PI, -2.5, 2.2250738585072014e-308, 1e308, -1e308, 1 / 3, 0.1 + 0.2, 1 + Number.EPSILON];
    const A = Float64Array.from({ length: 24 }, (_, i) => special[i % special.length]! * (i % 5 === 0 ? -1 : 1));
    const I = new Float64Array(36);
    for (let i = 0; i < 6; i++) I[i * 6 + i] = 1;
    expect(Array.from(native.gram(A, 4, I, 6, 6))).toEqual(Array.from(A)); // A · Iᵀ
    // TensorFlow runs its kernels with flush-to-zero: a subnormal (< 2.2e-308) counts as 0, an error far below
    // anything a metric can resolve
    const tiny = Float64Array.from([5e-324, 1e-310, 1]);
    expect(Array.from(native.gram(tiny, 3, Float64Array.from([1]), 1, 1))).toEqual([0, 0, 1]);
  });

  it('gram: A · Bᵀ agrees with the JavaScript blocked product (relative 1e-13)', () => {
    const A = randomMatrix(37, 53, 1);
    const B = randomMatrix(29, 53, 2);
    const a = native.gram(A, 37, B, 29, 53);
    const b = js.gram(A, 37, B, 29, 53);
    expect(maxAbsDiff(a, b) / maxAbs(b)).toBeLessThan(1e-13);
  });

  it('symmetric eigenvalues agree with the JavaScript QL and with ml-matrix (relative 1e-11)', () => {
    const n = 64;
    const X = randomMatrix(n, n, 3);
    const S = js.gram(X, n, X, n, n); // symmetric PSD, condition ≈ 1e4
    const reference = new EigenvalueDecomposition(
      new Matrix(Array.from({ length: n }, (_, i) => Array.from(S.subarray(i * n, (i + 1) * n)))),
    ).realEigenvalues;
    const a = sorted(native.symmetricEigenvalues(S, n));
    const b = sorted(js.symmetricEigenvalues(S, n));
    const scale = Math.max(...reference.map(Math.abs));
    expect(maxAbsDiff(a, sorted(reference)) / scale).toBeLessThan(1e-11);
    expect(maxAbsDiff(b, sorted(reference)) / scale).toBeLessThan(1e-11);
  });

  it('column moments agree with the JavaScript ones (relative 1e-12) and the covariance is exactly symmetric', () => {
    const n = 500;
    const d = 40;
    const X = randomMatrix(n, d, 4, (z) => Math.max(0, z + 0.3));
    const a = native.columnMoments(X, n, d);
    const b = js.columnMoments(X, n, d);
    expect(maxAbsDiff(a.mean, b.mean) / maxAbs(b.mean)).toBeLessThan(1e-12);
    expect(maxAbsDiff(a.cov, b.cov) / maxAbs(b.cov)).toBeLessThan(1e-12);
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) expect(a.cov[i * d + j]).toBe(a.cov[j * d + i]);
  });

  it('probability row statistics agree over several chunks, with splits straddling them (relative 1e-12)', () => {
    // 2,000 × 700 = 1.4 M entries: three chunks of the native kernel; 7 splits, none aligned with a chunk
    const n = 2000;
    const c = 700;
    const P = probabilityRows(n, c, 5);
    const ids = splitIndex(n, 7);
    const a = native.probabilityRowStats(P, n, c, ids, 7);
    const b = js.probabilityRowStats(P, n, c, ids, 7);
    expect(maxAbsDiff(a.rowSums, b.rowSums)).toBeLessThan(1e-12);
    expect(maxAbsDiff(a.rowXLogX, b.rowXLogX) / maxAbs(b.rowXLogX)).toBeLessThan(1e-12);
    expect(maxAbsDiff(a.splitColumnSums, b.splitColumnSums) / maxAbs(b.splitColumnSums)).toBeLessThan(1e-12);
    // the same rows as float32, read through views at chunk offsets: widened exactly, so equal to float64 of them
    const P32 = Float32Array.from(P);
    const a32 = native.probabilityRowStats(P32, n, c, ids, 7);
    const b32 = js.probabilityRowStats(Float64Array.from(P32), n, c, ids, 7);
    expect(maxAbsDiff(a32.rowXLogX, b32.rowXLogX) / maxAbs(b32.rowXLogX)).toBeLessThan(1e-12);
    expect(maxAbsDiff(a32.splitColumnSums, b32.splitColumnSums) / maxAbs(b32.splitColumnSums)).toBeLessThan(1e-12);
    // an independent row: Σ p ln p by hand, 0 · ln 0 = 0
    let h = 0;
    for (let y = 0; y < c; y++) if (P[y]! > 0) h += P[y]! * Math.log(P[y]!);
    expect(P[0]).toBe(0);
    expect(Math.abs(a.rowXLogX[0]! - h) / Math.abs(h)).toBeLessThan(1e-13);
  });

  it('float32 input is widened exactly; a negative or NaN entry makes its row NaN on both providers', () => {
    const n = 40;
    const c = 10;
    const P32 = Float32Array.from(probabilityRows(n, c, 6));
    const ids = splitIndex(n, 4);
    const a = native.probabilityRowStats(P32, n, c, ids, 4);
    const b = js.probabilityRowStats(Float64Array.from(P32), n, c, ids, 4);
    expect(maxAbsDiff(a.rowXLogX, b.rowXLogX) / maxAbs(b.rowXLogX)).toBeLessThan(1e-13);
    const bad = Float64Array.from(P32);
    bad[3 * c + 2] = -0.01;
    bad[5 * c + 1] = Number.NaN;
    for (const k of [native, js]) {
      const s = k.probabilityRowStats(bad, n, c, ids, 4);
      expect([Number.isNaN(s.rowXLogX[3]!), Number.isNaN(s.rowXLogX[5]!), Number.isFinite(s.rowXLogX[4]!)]).toEqual([
        true,
        true,
        true,
      ]);
    }
  });

  it('FID of the same features on both providers agrees to relative 1e-10, singular covariance included', () => {
    // 30 samples in 40 dimensions: both covariances have rank ≤ 29, so the pivoted Cholesky stops early
    const A = { data: randomMatrix(30, 40, 7, (z) => Math.max(0, z)), shape: [30, 40] as [number, number] };
    const B = { data: randomMatrix(30, 40, 8, (z) => Math.max(0, z + 0.2)), shape: [30, 40] as [number, number] };
    const fidOn = (backend: Float64BackendName): number => {
      setFloat64Backend(backend);
      try {
        return frechetDistance(A, B);
      } finally {
        setFloat64Backend('libtensorflow');
      }
    };
    const a = fidOn('libtensorflow');
    const b = fidOn('javascript');
    expect(b).toBeGreaterThan(1);
    expect(Math.abs(a - b) / b).toBeLessThan(1e-10);
  });
});
