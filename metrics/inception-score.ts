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
 * term Σ p ln p) and C for the marginal; flat float32/float64 input is read in place (no copy), checked in one pass.
 */
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

/** Σ x ln x over data[from, to), x = 0 contributing 0 (the limit) */
function sumXLogX(data: Float64Array | Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) {
    const x = data[i]!;
    if (x > 0) s += x * Math.log(x);
  }
  return s;
}

export function inceptionScoreFromProbs(probs: unknown, splits = 10): InceptionScoreResult {
  const { data, rows: n, cols: c } = probsMatrix(probs);
  if (!Number.isInteger(splits) || splits < 1)
    throw new RangeError(`inceptionScoreFromProbs splits: expected a positive integer; got ${splits}`);
  if (n < splits)
    throw new RangeError(
      `inceptionScoreFromProbs: ${n} rows cannot be cut into ${splits} splits; pass fewer splits or more rows`,
    );
  checkRows(data, n, c);
  const perSplit: number[] = [];
  const marginal = new Float64Array(c);
  for (let s = 0; s < splits; s++) {
    const lo = Math.floor((s * n) / splits);
    const hi = Math.floor(((s + 1) * n) / splits);
    const count = hi - lo;
    marginal.fill(0);
    for (let i = lo; i < hi; i++) {
      const o = i * c;
      for (let y = 0; y < c; y++) marginal[y] += data[o + y]!;
    }
    // Σ_i Σ_y p (ln p − ln m_y) = Σ_i Σ_y p ln p − count · Σ_y m_y ln m_y   (p = 0 terms are 0: the limit)
    const entropyTerm = sumXLogX(data, lo * c, hi * c);
    let cross = 0;
    for (let y = 0; y < c; y++) {
      const m = marginal[y]! / count;
      if (m > 0) cross += m * Math.log(m);
    }
    perSplit.push(Math.exp(entropyTerm / count - cross));
  }
  const mean = perSplit.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(perSplit.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, perSplit };
}
