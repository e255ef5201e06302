/**
 * Expected maximum performance (Dodge et al. 2019, "Show Your Work", §3): if a researcher tries n settings drawn
 * uniformly with replacement from the N a sweep ran, selects the one with the best validation score and reports its
 * test score, what do they report on average, and with what spread? With the settings sorted worst to best by val
 * (a strict order: ties broken as the ranking breaks them), setting i (1-based) is the val-best of n draws with
 * probability (i/N)^n − ((i−1)/N)^n, so
 *   E_n = Σ_i P_i · t_i,   std_n = sqrt(Σ_i P_i · t_i² − E_n²),
 * t_i being setting i's test score. Dodge's formula uses the val score itself; publishing the test score of the
 * val-selected setting is the same estimator with the selection kept off the test split.
 */
import type { ExpectedMaxCurve, TopSet } from './types.js';

export interface ExpectedMax {
  expected: number[];
  std: number[];
}

/**
 * @param testWorstToBest test scores of the N settings, in val order from worst to best
 * @returns index n − 1 holds E and std for n = 1..N
 */
export function expectedMaxPerformance(testWorstToBest: readonly number[]): ExpectedMax {
  const N = testWorstToBest.length;
  const expected: number[] = [];
  const std: number[] = [];
  for (let n = 1; n <= N; n++) {
    let e = 0;
    let e2 = 0;
    for (let i = 1; i <= N; i++) {
      const p = (i / N) ** n - ((i - 1) / N) ** n;
      const t = testWorstToBest[i - 1];
      e += p * t;
      e2 += p * t * t;
    }
    expected.push(e);
    // rounding can leave a tiny negative variance when all draws agree
    std.push(Math.sqrt(Math.max(0, e2 - e * e)));
  }
  return { expected, std };
}

/** The n at which the tables print E_n: 1, 2, 5, 10, 20, 50, … up to N, and N itself. */
export function tableBudgets(N: number): number[] {
  const out: number[] = [];
  for (let base = 1; base <= N; base *= 10) for (const m of [1, 2, 5]) if (base * m <= N) out.push(base * m);
  if (!out.includes(N) && N > 0) out.push(N);
  return out;
}

/**
 * Per top set (dataset, model, metric): the curve over its settings that have a test/ score, ordered by the val
 * ranking (TopSet.ranked is best first). The published value is the test ranking value: the raw score, or for
 * MS-SSIM the distance to the real data's.
 */
export function expectedMaxCurves(sets: readonly TopSet[]): ExpectedMaxCurve[] {
  const out: ExpectedMaxCurve[] = [];
  for (const s of sets) {
    const worstToBest = s.ranked.filter((x) => Number.isFinite(x.testRanking)).reverse();
    if (worstToBest.length === 0) continue;
    const e = expectedMaxPerformance(worstToBest.map((x) => x.testRanking));
    out.push({ dataset: s.dataset, model: s.model, metric: s.metric, ...e });
  }
  return out;
}
