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
 * exactly; inputs with exact zeros give the finite limit instead of NaN.
 */
import { toMatrix64, type Matrix64 } from './inputs.js';

export interface InceptionScoreResult {
  mean: number;
  /** population standard deviation over the splits */
  std: number;
  /** the score of every split, in order */
  perSplit: number[];
}

/** Tolerance on row sums: float32 softmax over 1,000 classes sums to 1 within ~1e-6. */
const ROW_SUM_TOLERANCE = 1e-3;

export function inceptionScoreFromProbs(probs: unknown, splits = 10): InceptionScoreResult {
  const m: Matrix64 = toMatrix64(probs, 'inceptionScoreFromProbs probs');
  const { data, rows: n, cols: c } = m;
  if (!Number.isInteger(splits) || splits < 1) throw new RangeError(`inceptionScoreFromProbs splits: expected a positive integer; got ${splits}`);
  if (n < splits) throw new RangeError(`inceptionScoreFromProbs: ${n} rows cannot be cut into ${splits} splits; pass fewer splits or more rows`);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let y = 0; y < c; y++) {
      const p = data[i * c + y]!;
      if (p < 0) throw new RangeError(`inceptionScoreFromProbs probs: element [${i}][${y}] is ${p}; probabilities must be ≥ 0`);
      s += p;
    }
    if (Math.abs(s - 1) > ROW_SUM_TOLERANCE) {
      throw new RangeError(`inceptionScoreFromProbs probs: row ${i} sums to ${s} (shape [${n}, ${c}]); pass class probabilities (softmax outputs), not logits`);
    }
  }
  const perSplit: number[] = [];
  const marginal = new Float64Array(c);
  for (let s = 0; s < splits; s++) {
    const lo = Math.floor((s * n) / splits);
    const hi = Math.floor(((s + 1) * n) / splits);
    const count = hi - lo;
    marginal.fill(0);
    for (let i = lo; i < hi; i++) for (let y = 0; y < c; y++) marginal[y] += data[i * c + y]!;
    for (let y = 0; y < c; y++) marginal[y] = marginal[y]! / count;
    const logMarginal = marginal.map((v) => (v > 0 ? Math.log(v) : 0));
    let kl = 0;
    for (let i = lo; i < hi; i++) {
      let rowKl = 0;
      for (let y = 0; y < c; y++) {
        const p = data[i * c + y]!;
        if (p > 0) rowKl += p * (Math.log(p) - logMarginal[y]!); // p = 0 → 0·ln 0 := 0 (the limit)
      }
      kl += rowKl;
    }
    perSplit.push(Math.exp(kl / count));
  }
  const mean = perSplit.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(perSplit.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, perSplit };
}
