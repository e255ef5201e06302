/**
 * Inception score from class probabilities (Salimans et al. 2016; openai/improved-gan `inception_score/model.py`,
 * paper-spec §5.1 and the test vectors of §8.1):
 *
 *     for s in 0..splits−1:  part = rows [⌊s·N/splits⌋, ⌊(s+1)·N/splits⌋)   (contiguous, in the given order)
 *         score_s = exp( mean_i Σ_y p_iy (ln p_iy − ln mean_i' p_i'y) )
 *     → mean and population std of score_s
 *
 * Natural log; every sum in float64. Rows are not shuffled here: shuffle before calling if the order is not
 * random (sorted rows give 1 per split, §8.1).
 *
 * Zero probabilities: the reference computes 0·(ln 0 − ln m) = NaN. Here a term with p_iy = 0 contributes 0, its
 * limit as p → 0 (x ln x → 0). No ε is added anywhere, so strictly positive inputs give the reference's numbers
 * (to rounding); inputs with exact zeros give the finite limit instead of NaN.
 *
 * Speed: Σ_i Σ_y p_iy ln m_y = count · Σ_y m_y ln m_y, so each split needs one logarithm per entry (the entropy
 * term Σ p ln p) and C for the marginal. The per-entry work (row sums for the check, Σ p ln p per row, column sums
 * per split) runs in one call of the active float64 provider (float64.ts); flat float32/float64 input is passed
 * without a copy.
 */
import { float64Kernels, type ProbabilityRowStats } from './float64.js';
import { toMatrix64 } from './inputs.js';

export interface InceptionScoreResult {
  mean: number;
  /** population standard deviation over the splits */
  std: number;
  /** the score of every split, in order */
  perSplit: number[];
}

/** Tolerance on row sums: float32 softmax over 1,000 classes sums to 1 within ~1e-6. */
const ROW_SUM_TOLERANCE = 1e-3;

/** Flat row-major probabilities without a copy where the input already is one (float64 or float32 data). */
function probsMatrix(probs: unknown): { data: Float64Array | Float32Array; rows: number; cols: number } {
  const v = probs as { data?: unknown; shape?: unknown };
  if (
    typeof probs === 'object' &&
    probs !== null &&
    Array.isArray(v.shape) &&
    v.shape.length === 2 &&
    (v.data instanceof Float64Array || v.data instanceof Float32Array)
  ) {
    const [rows, cols] = v.shape as number[];
    if (
      Number.isInteger(rows) &&
      Number.isInteger(cols) &&
      rows! >= 1 &&
      cols! >= 1 &&
      rows! * cols! === v.data.length
    ) {
      return { data: v.data, rows: rows!, cols: cols! };
    }
  }
  return toMatrix64(probs, 'inceptionScoreFromProbs probs');
}

/** Refuses negative, non-finite and non-normalised rows, naming the first bad one. */
function checkRows(data: Float64Array | Float32Array, n: number, c: number): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * c;
    for (let y = 0; y < c; y++) {
      const p = data[o + y]!;
      if (!(p >= 0 && p !== Infinity)) {
        throw new RangeError(
          `inceptionScoreFromProbs probs: element [${i}][${y}] is ${p}; probabilities must be finite and ≥ 0`,
        );
      }
      s += p;
    }
    if (Math.abs(s - 1) > ROW_SUM_TOLERANCE) {
      throw new RangeError(
        `inceptionScoreFromProbs probs: row ${i} sums to ${s} (shape [${n}, ${c}]); pass class probabilities (softmax outputs), not logits`,
      );
    }
  }
}

/** Row i's split: rows [⌊s·N/splits⌋, ⌊(s+1)·N/splits⌋) belong to split s. */
export function splitIndex(n: number, splits: number): Int32Array {
  const splitOf = new Int32Array(n);
  for (let s = 0; s < splits; s++) splitOf.fill(s, Math.floor((s * n) / splits), Math.floor(((s + 1) * n) / splits));
  return splitOf;
}

/**
 * Whether every row sums to 1 and has a finite Σ p ln p (a negative or NaN entry makes it NaN, +∞ makes the row sum
 * infinite); if not, `checkRows` finds and names the first bad entry.
 */
function rowsValid(stats: ProbabilityRowStats): boolean {
  for (let i = 0; i < stats.rowSums.length; i++) {
    if (!(Math.abs(stats.rowSums[i]! - 1) <= ROW_SUM_TOLERANCE && Number.isFinite(stats.rowXLogX[i]!))) return false;
  }
  return true;
}

export function inceptionScoreFromProbs(probs: unknown, splits = 10): InceptionScoreResult {
  const { data, rows: n, cols: c } = probsMatrix(probs);
  if (!Number.isInteger(splits) || splits < 1)
    throw new RangeError(`inceptionScoreFromProbs splits: expected a positive integer; got ${splits}`);
  if (n < splits)
    throw new RangeError(
      `inceptionScoreFromProbs: ${n} rows cannot be cut into ${splits} splits; pass fewer splits or more rows`,
    );
  const splitOf = splitIndex(n, splits);
  const stats = float64Kernels().probabilityRowStats(data, n, c, splitOf, splits);
  if (!rowsValid(stats)) {
    checkRows(data, n, c);
    throw new RangeError(
      'inceptionScoreFromProbs probs: rows are not probabilities (non-finite, negative or not summing to 1)',
    );
  }
  const perSplit: number[] = [];
  for (let s = 0, i = 0; s < splits; s++) {
    // Σ_i Σ_y p (ln p − ln m_y) = Σ_i Σ_y p ln p − count · Σ_y m_y ln m_y   (p = 0 terms are 0: the limit)
    let entropyTerm = 0;
    const lo = i;
    for (; i < n && splitOf[i] === s; i++) entropyTerm += stats.rowXLogX[i]!;
    const count = i - lo;
    let cross = 0;
    for (let y = 0; y < c; y++) {
      const m = stats.splitColumnSums[s * c + y]! / count;
      if (m > 0) cross += m * Math.log(m);
    }
    perSplit.push(Math.exp(entropyTerm / count - cross));
  }
  const mean = perSplit.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(perSplit.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, perSplit };
}
