/**
 * The float64 linear algebra of FID and KID, on the active float64 provider (float64.ts).
 *
 * tr (Σ1 Σ2)^½ never forms the square root itself:
 *
 *   Σ1 = P^T L L^T P           (Cholesky with complete pivoting, stopped at the numerical rank: Σ1 may be singular,
 *                               e.g. dead ReLU features or N ≤ D)
 *   eig(Σ1 Σ2) = eig(L^T (P Σ2 P^T) L) ∪ {0}   (AB and BA share their non-zero eigenvalues; the right side is
 *                               symmetric positive semi-definite)
 *   tr (Σ1 Σ2)^½ = Σ_i sqrt(max(λ_i, 0))
 *
 * so the whole computation is one pivoted Cholesky, two products and the eigenvalues (no vectors) of one
 * symmetric matrix — no Schur form, no complex arithmetic (scipy.linalg.sqrtm's route), and the result is real by
 * construction. Tiny negative eigenvalues from rounding are clamped to 0.
 */
import { float64Kernels } from './float64.js';
import { pivotedCholesky } from './linalg-js.js';

export { pivotedCholesky };

/** A · Bᵀ for row-major A (n × d) and B (m × d) → n × m, in float64. */
export function gramMatrix(A: Float64Array, n: number, B: Float64Array, m: number, d: number): Float64Array {
  return float64Kernels().gram(A, n, B, m, d);
}

/** Eigenvalues (any order) of a symmetric n × n matrix, reading its lower triangle, in float64. */
export function symmetricEigenvalues(S: Float64Array, n: number): Float64Array {
  return float64Kernels().symmetricEigenvalues(S, n);
}

/** tr (Σ1 Σ2)^½ for symmetric PSD Σ1, Σ2 (n × n row-major), via pivoted Cholesky of Σ1 (see the module comment). */
export function traceSqrtProduct(sigma1: Float64Array, sigma2: Float64Array, n: number): number {
  const k = float64Kernels();
  const { L, perm, rank: r } = pivotedCholesky(sigma1, n);
  if (r === 0) return 0;
  // M = Lᵀ S L with S = P Σ2 Pᵀ, as two blocked products of rows: Tᵀ = Lᵀ S (row c of Tᵀ · row i of S), then
  // M = Lᵀ · T; the triangular zeros are skipped a 4-row block at a time (no per-element branch).
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const si = perm[i]! * n;
    for (let k = 0; k < n; k++) S[i * n + k] = sigma2[si + perm[k]!]!;
  }
  const Lt = new Float64Array(r * n);
  for (let k = 0; k < n; k++) for (let c = 0; c < Math.min(k + 1, r); c++) Lt[c * n + k] = L[k * n + c]!;
  // row c of Lᵀ is zero before column c (triangular), and M is symmetric: its upper blocks suffice
  const Tt = k.gram(Lt, r, S, n, n, { aUpperTriangular: true }); // r × n, Tᵀ[c][i] = Σ_{k≥c} L[k][c] S[i][k]
  const M = k.gram(Lt, r, Tt, r, n, { upper: true, aUpperTriangular: true }); // r × r
  for (let a = 0; a < r; a++) for (let b = 0; b < a; b++) M[a * r + b] = M[b * r + a]!;
  const eig = k.symmetricEigenvalues(M, r);
  let tr = 0;
  for (let i = 0; i < r; i++) tr += Math.sqrt(Math.max(eig[i]!, 0));
  return tr;
}
