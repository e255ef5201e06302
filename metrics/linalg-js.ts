/**
 * The float64 kernels in plain JavaScript (the `javascript` provider of float64.ts, used when libtensorflow is not
 * loaded, and the second implementation the tests hold the native one to): blocked products of row-major
 * matrices, pivoted Cholesky (used by both providers: TensorFlow has no pivoted, rank-revealing Cholesky),
 * symmetric eigenvalues (Householder tridiagonalisation and implicit QL, values only), column moments and the
 * per-row statistics of a probability matrix.
 */
import type { Float64Kernels, ProbabilityRowStats } from './float64.js';

/**
 * C[i][j] += Σ_k A[i][k] · B[j][k] for rows of A (ra rows) and B (rb rows), all of length `len`, written into C
 * (ra × rb, row-major, stride rb). With `upper`, only blocks with j ≥ i (by 4-blocks) are computed (for a
 * symmetric result, e.g. A = B). With `aUpperTriangular`, row r of A is zero before column r, so the sum for a
 * block of rows starting at i starts at k = i. 4×4 register blocking and chunks of the shared dimension keep the
 * operands in cache. Rows beyond ra/rb up to a multiple of 4 must exist in A and B (zero padding) and in C.
 */
// one function on purpose (over 80 lines): the 16 accumulators must stay locals of the inner loop to live in registers
export function gramBlocked(
  A: Float64Array,
  ra: number,
  B: Float64Array,
  rb: number,
  len: number,
  C: Float64Array,
  cStride: number,
  upper: boolean,
  aUpperTriangular = false,
): void {
  const KC = 1024;
  for (let k0 = 0; k0 < len; k0 += KC) {
    const k1 = Math.min(len, k0 + KC);
    for (let i = 0; i < ra; i += 4) {
      const a0 = i * len;
      const a1 = a0 + len;
      const a2 = a1 + len;
      const a3 = a2 + len;
      const kStart = aUpperTriangular ? Math.max(k0, i) : k0;
      if (kStart >= k1) continue;
      for (let j = upper ? i : 0; j < rb; j += 4) {
        const b0 = j * len;
        const b1 = b0 + len;
        const b2 = b1 + len;
        const b3 = b2 + len;
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        let s20 = 0,
          s21 = 0,
          s22 = 0,
          s23 = 0,
          s30 = 0,
          s31 = 0,
          s32 = 0,
          s33 = 0;
        for (let k = kStart; k < k1; k++) {
          const x0 = A[a0 + k]!,
            x1 = A[a1 + k]!,
            x2 = A[a2 + k]!,
            x3 = A[a3 + k]!;
          const y0 = B[b0 + k]!,
            y1 = B[b1 + k]!,
            y2 = B[b2 + k]!,
            y3 = B[b3 + k]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s22 += x2 * y2;
          s23 += x2 * y3;
          s30 += x3 * y0;
          s31 += x3 * y1;
          s32 += x3 * y2;
          s33 += x3 * y3;
        }
        let c = i * cStride + j;
        C[c] += s00;
        C[c + 1] += s01;
        C[c + 2] += s02;
        C[c + 3] += s03;
        c += cStride;
        C[c] += s10;
        C[c + 1] += s11;
        C[c + 2] += s12;
        C[c + 3] += s13;
        c += cStride;
        C[c] += s20;
        C[c + 1] += s21;
        C[c + 2] += s22;
        C[c + 3] += s23;
        c += cStride;
        C[c] += s30;
        C[c + 1] += s31;
        C[c + 2] += s32;
        C[c + 3] += s33;
      }
    }
  }
}

export const roundUp4 = (n: number): number => (n + 3) & ~3;

/** Rows × cols matrix `m` copied into a zero-padded buffer with rows rounded up to a multiple of 4. */
function padRows(data: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(roundUp4(rows) * cols);
  out.set(data.subarray(0, rows * cols));
  return out;
}

/**
 * A · B^T for row-major A (n × d) and B (m × d) → n × m. Options as gramBlocked's: `upper` leaves the blocks below
 * the diagonal zero (the caller mirrors a symmetric result), `aUpperTriangular` skips A's leading zeros.
 */
export function gramMatrix(
  A: Float64Array,
  n: number,
  B: Float64Array,
  m: number,
  d: number,
  opts: { upper?: boolean; aUpperTriangular?: boolean } = {},
): Float64Array {
  const np = roundUp4(n);
  const mp = roundUp4(m);
  const C = new Float64Array(np * mp);
  gramBlocked(
    padRows(A, n, d),
    np,
    padRows(B, m, d),
    mp,
    d,
    C,
    mp,
    opts.upper ?? false,
    opts.aUpperTriangular ?? false,
  );
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) out.set(C.subarray(i * mp, i * mp + m), i * m);
  return out;
}

/**
 * Cholesky with complete pivoting of a symmetric positive semi-definite n × n matrix: A = P^T L L^T P,
 * stopping at the numerical rank (LAPACK dpstrf's default tolerance n·ε·max diag). Returns L (n × n row-major,
 * columns ≥ rank zero), the permutation (row i of L belongs to original index perm[i]) and the rank.
 */
export function pivotedCholesky(A: Float64Array, n: number): { L: Float64Array; perm: Int32Array; rank: number } {
  const W = Float64Array.from(A.subarray(0, n * n));
  const L = new Float64Array(n * n);
  const perm = new Int32Array(n);
  const dg = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    perm[i] = i;
    dg[i] = W[i * n + i]!;
    maxDiag = Math.max(maxDiag, dg[i]!);
  }
  const tol = n * Number.EPSILON * maxDiag;
  let rank = n;
  for (let j = 0; j < n; j++) {
    let p = j;
    for (let i = j + 1; i < n; i++) if (dg[i]! > dg[p]!) p = i;
    if (!(dg[p]! > tol)) {
      rank = j;
      break;
    }
    if (p !== j) {
      [perm[j], perm[p]] = [perm[p]!, perm[j]!];
      [dg[j], dg[p]] = [dg[p]!, dg[j]!];
      for (let k = 0; k < j; k++) [L[j * n + k], L[p * n + k]] = [L[p * n + k]!, L[j * n + k]!];
      for (let k = 0; k < n; k++) [W[j * n + k], W[p * n + k]] = [W[p * n + k]!, W[j * n + k]!];
      for (let k = 0; k < n; k++) [W[k * n + j], W[k * n + p]] = [W[k * n + p]!, W[k * n + j]!];
    }
    const ljj = Math.sqrt(dg[j]!);
    L[j * n + j] = ljj;
    const rj = j * n;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = W[ri + j]!;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      const lij = s / ljj;
      L[ri + j] = lij;
      dg[i] = dg[i]! - lij * lij;
    }
  }
  return { L, perm, rank };
}

/**
 * Eigenvalues of a symmetric n × n matrix (row-major; the input is not modified; only its lower triangle is read):
 * Householder reduction to tridiagonal form (lower-triangle updates, every inner loop along a row), then the
 * implicit QL algorithm with Wilkinson-type shifts (Numerical Recipes tred2/tqli, values only).
 */
export function symmetricEigenvalues(S: Float64Array, n: number): Float64Array {
  const { d, e } = householderTridiagonal(S, n);
  tridiagonalQlEigenvalues(d, e);
  return d;
}

/**
 * Householder reduction (tred2, values only): the diagonal d and the subdiagonal e (e[i] couples i − 1 and i,
 * e[0] is scratch) of a tridiagonal matrix similar to S.
 */
function householderTridiagonal(S: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const a = Float64Array.from(S.subarray(0, n * n));
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const ri = i * n;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[ri + k]!);
      if (scale === 0) {
        e[i] = a[ri + l]!;
      } else {
        for (let k = 0; k <= l; k++) {
          a[ri + k] = a[ri + k]! / scale;
          h += a[ri + k]! * a[ri + k]!;
        }
        const f0 = a[ri + l]!;
        const g0 = f0 >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g0;
        h -= f0 * g0;
        a[ri + l] = f0 - g0;
        // p = A u / h (into e[0..l]), K = u·p / 2h, q = p − K u; A ← A − u q^T − q u^T on the leading block.
        // Only the lower triangle is read and written (A stays symmetric): half the memory traffic, rows only.
        for (let j = 0; j <= l; j++) e[j] = 0;
        for (let j = 0; j <= l; j++) {
          const rj = j * n;
          const uj = a[ri + j]!;
          let g = a[rj + j]! * uj;
          for (let k = 0; k < j; k++) {
            const ajk = a[rj + k]!;
            g += ajk * a[ri + k]!;
            e[k] += ajk * uj;
          }
          e[j] += g;
        }
        let f = 0;
        for (let j = 0; j <= l; j++) {
          e[j] = e[j]! / h;
          f += e[j]! * a[ri + j]!;
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) e[j] = e[j]! - hh * a[ri + j]!;
        for (let j = 0; j <= l; j++) {
          const rj = j * n;
          const fj = a[ri + j]!;
          const gj = e[j]!;
          for (let k = 0; k <= j; k++) a[rj + k] = a[rj + k]! - (fj * e[k]! + gj * a[ri + k]!);
        }
      }
    } else {
      e[i] = a[ri + l]!;
    }
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i]!;
  return { d, e };
}

/**
 * Implicit QL with Wilkinson-type shifts (tqli, values only) on the tridiagonal (d, e) from householderTridiagonal:
 * leaves the eigenvalues in d (unsorted); e is used as scratch.
 */
function tridiagonalQlEigenvalues(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iter++ === 100) throw new Error(`symmetricEigenvalues: QL did not converge for eigenvalue ${l} of ${n}`);
        let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
        let r = Math.hypot(g, 1);
        g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i]!;
          const b = c * e[i]!;
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] = d[i + 1]! - p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1]! - p;
          r = (d[i]! - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] = d[l]! - p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
}

/** Column means and unbiased covariance, as a centred Gram product of the transposed data. */
function columnMoments(data: Float64Array, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / n;
  // centred and transposed (D × N, rows padded to a multiple of 4): covariance entries are dot products of rows
  const dp = roundUp4(d);
  const xt = new Float64Array(dp * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xt[j * n + i] = data[i * d + j]! - mean[j]!;
  const c = new Float64Array(dp * dp);
  gramBlocked(xt, dp, xt, dp, n, c, dp, true);
  const cov = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      // the upper triangle was computed in 4×4 blocks; (i, j) with j ≥ i lies in a computed block
      const v = c[i * dp + j]! / (n - 1);
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  return { mean, cov };
}

function probabilityRowStats(
  P: Float64Array | Float32Array,
  n: number,
  c: number,
  splitOf: Int32Array,
  splits: number,
): ProbabilityRowStats {
  const rowSums = new Float64Array(n);
  const rowXLogX = new Float64Array(n);
  const splitColumnSums = new Float64Array(splits * c);
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const so = splitOf[i]! * c;
    let sum = 0;
    let xlogx = 0;
    for (let y = 0; y < c; y++) {
      const p = P[o + y]!;
      sum += p;
      if (p !== 0) xlogx += p * Math.log(p);
      splitColumnSums[so + y] += p;
    }
    rowSums[i] = sum;
    rowXLogX[i] = xlogx;
  }
  return { rowSums, rowXLogX, splitColumnSums };
}

export const javascriptFloat64Kernels: Float64Kernels = {
  name: 'javascript',
  gram: (A, n, B, m, d, hints = {}) => gramMatrix(A, n, B, m, d, hints),
  symmetricEigenvalues,
  columnMoments,
  probabilityRowStats,
};
