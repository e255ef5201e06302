/**
 * The report's pure parts: settings ranked on val/ with ties, deduplication by trial id, tag planning, number
 * formatting, curve thinning, the bootstrap interval against an exact enumeration of every resample, and expected
 * maximum performance against an exhaustive enumeration of every n-draw.
 */
import { describe, expect, it } from 'vitest';
import { formatNumber } from '../src/report/format.js';
import { thin } from '../src/report/figures/curves.js';
import { tableBudgets } from '../src/report/expected-max.js';
import { legacyEvalWarning } from '../src/report/query.js';
import { lowerQuantile } from '../src/report/stats.js';
import {
  bootstrapMeanInterval,
  dedupeByTrialId,
  expectedMaxPerformance,
  planTagChanges,
  rankGroup,
  selectTopSets,
  sweepDirName,
  type ReportRun,
} from '../src/report/index.js';

interface RunOpts {
  setting?: string;
  status?: ReportRun['status'];
  tags?: Record<string, string>;
  test?: Record<string, number>;
  trialId?: string;
  start?: number;
}

function run(id: string, name: string, val: Record<string, number>, o: RunOpts = {}): ReportRun {
  return {
    runId: id,
    runName: name,
    experimentId: '1',
    status: o.status ?? 'FINISHED',
    startTime: o.start ?? 0,
    dataset: 'd',
    model: 'dcgan',
    trialId: o.trialId,
    settingId: o.setting ?? id,
    val,
    test: o.test ?? {},
    trialSeconds: undefined,
    trainKeys: [],
    params: {},
    tags: o.tags ?? {},
  };
}

describe('rankGroup (settings on val/)', () => {
  it('ranks settings by direction, ignores FAILED runs and breaks ties by best seed name then setting id', () => {
    const runs = [
      run('a', 'r3', { fid: 2 }),
      run('b', 'r1', { fid: 2 }),
      run('c', 'r2', { fid: 1 }),
      run('d', 'r0', { fid: 0.5 }, { status: 'FAILED' }),
      run('e', 'r1', { fid: 2 }),
      run('f', 'r9', { inception_score: 3 }),
    ];
    const fid = rankGroup(runs, 'fid', 3)!;
    expect(fid.ranked.map((s) => s.settingId)).toEqual(['c', 'b', 'e', 'a']);
    expect(fid.top.map((s) => s.settingId)).toEqual(['c', 'b', 'e']);
    expect(rankGroup(runs, 'ms_ssim', 10)).toBeUndefined();
  });

  it('averages a setting over its seeds on val/ and publishes the test/ mean of what val chose', () => {
    // setting A: val mean 1.5 (better), test mean 9; setting B: val mean 2, test mean 1 (better on test)
    const runs = [
      run('a1', 'A s1', { fid: 1 }, { setting: 'A', test: { fid: 8 } }),
      run('a2', 'A s2', { fid: 2 }, { setting: 'A', test: { fid: 10 } }),
      run('b1', 'B s1', { fid: 2 }, { setting: 'B', test: { fid: 1 } }),
    ];
    const s = rankGroup(runs, 'fid', 10)!;
    expect(s.best.settingId).toBe('A');
    expect(s.best.val).toBe(1.5);
    expect(s.best.valStd).toBeCloseTo(Math.SQRT1_2, 12);
    expect(s.bestValue).toBe(9);
    expect(s.mean).toBe(5); // (9 + 1) / 2 over the two settings' test means
    expect(s.std).toBeCloseTo(Math.sqrt(32), 12);
  });

  it('ranks MS-SSIM by closeness to the real data on val/, never by raw lower-is-better', () => {
    const runs = [
      run('noise', 'n', { ms_ssim: 0.01, ms_ssim_real: 0.3 }),
      run('close', 'c', { ms_ssim: 0.28, ms_ssim_real: 0.3 }),
      run('collapsed', 'x', { ms_ssim: 0.9, ms_ssim_real: 0.3 }),
      run('noref', 'r', { ms_ssim: 0.3 }),
    ];
    const s = rankGroup(runs, 'ms_ssim', 10)!;
    expect(s.ranked.map((x) => x.settingId)).toEqual(['close', 'noise', 'collapsed']);
    expect(s.closeTo).toBe('ms_ssim_real');
  });

  it('refuses a metric without a direction and a bad k', () => {
    expect(() => rankGroup([run('a', 'a', { foo: 1 })], 'foo', 10)).toThrow(/metrics\/protocol.ts/);
    expect(() => selectTopSets([], 0)).toThrow(/k must be/);
  });
});

describe('dedupeByTrialId', () => {
  it('keeps one run per trial id — the FINISHED one, the latest — and says so', () => {
    const runs = [
      run('old-done', 'x', {}, { trialId: 't1', start: 1 }),
      run('new-failed', 'x', {}, { trialId: 't1', start: 3, status: 'FAILED' }),
      run('new-done', 'x', {}, { trialId: 't1', start: 2 }),
      run('solo', 'y', {}, { trialId: 't2' }),
      run('no-id', 'z', {}),
    ];
    const d = dedupeByTrialId(runs);
    expect(d.runs.map((r) => r.runId)).toEqual(['new-done', 'solo', 'no-id']);
    expect(d.dropped).toBe(2);
    expect(d.warning).toMatch(/1 trial id has more than one run \(t1\).*other 2 runs are left out/);
    expect(dedupeByTrialId(runs.slice(3)).warning).toBeUndefined();
  });
});

describe('legacyEvalWarning', () => {
  it('names runs that hold only eval/ scores, which cannot be ranked without seeing the test split', () => {
    const r = (metrics: Record<string, number>) => ({
      info: { runId: 'x', experimentId: '1', runName: 'x', status: 'FINISHED' as const, startTime: 0, artifactUri: '' },
      params: {},
      tags: {},
      metrics,
    });
    expect(legacyEvalWarning([r({ 'eval/fid': 1 }), r({ 'eval/fid': 1, 'val/fid': 2 }), r({ 'val/fid': 1 })])).toMatch(
      /^1 runs hold only `eval\/<metric>` scores/,
    );
    expect(legacyEvalWarning([r({ 'val/fid': 1, 'test/fid': 1 })])).toBeUndefined();
  });
});

describe('planTagChanges', () => {
  it('tags every seed of a top setting; removes tags of runs that dropped out or of metrics no longer ranked', () => {
    const runs = [
      run('a', 'a', { fid: 1 }, { tags: { 'ganstudy.top10.fid': 'true' } }),
      run('a2', 'a2', { fid: 1.2 }, { setting: 'a' }),
      run('b', 'b', { fid: 2 }),
      run('c', 'c', { fid: 3 }, { tags: { 'ganstudy.top10.fid': 'true', 'ganstudy.top10.kid': 'true' } }),
      run('d', 'd', { fid: 0 }, { status: 'FAILED', tags: { 'ganstudy.top10.fid': 'true' } }),
    ];
    const plan = planTagChanges(runs, selectTopSets(runs, 2));
    expect(plan.set.sort((x, y) => (x.runId < y.runId ? -1 : 1))).toEqual([
      { runId: 'a2', key: 'ganstudy.top10.fid' },
      { runId: 'b', key: 'ganstudy.top10.fid' },
    ]);
    expect(plan.removed.sort((x, y) => (x.runId + x.key < y.runId + y.key ? -1 : 1))).toEqual([
      { runId: 'c', key: 'ganstudy.top10.fid' },
      { runId: 'c', key: 'ganstudy.top10.kid' },
      { runId: 'd', key: 'ganstudy.top10.fid' },
    ]);
  });
});

/** Every ordered resample of xs (n^n of them), each equally likely: the exact bootstrap distribution of the mean. */
function exactBootstrapMeans(xs: number[]): number[] {
  const n = xs.length;
  const out: number[] = [];
  const idx = new Array<number>(n).fill(0);
  for (let c = 0; c < n ** n; c++) {
    let s = 0;
    for (let i = 0, v = c; i < n; i++, v = Math.floor(v / n)) idx[i] = v % n;
    for (const i of idx) s += xs[i];
    out.push(s / n);
  }
  return out.sort((a, b) => a - b);
}

describe('bootstrapMeanInterval', () => {
  it('matches the exact bootstrap distribution (all 5^5 resamples) within Monte-Carlo error', () => {
    const xs = [0, 1, 3, 7, 20];
    const exact = exactBootstrapMeans(xs);
    const cdf = (v: number): number => exact.filter((m) => m <= v + 1e-12).length / exact.length;
    const below = (v: number): number => exact.filter((m) => m < v - 1e-12).length / exact.length;
    const iv = bootstrapMeanInterval(xs, { resamples: 4000, seed: 7, level: 0.95 })!;
    // with 4000 resamples the empirical CDF at a point has std ≤ sqrt(0.025·0.975/4000) ≈ 0.0025; allow 4 std
    const tol = 0.01;
    expect(cdf(iv.lo)).toBeGreaterThanOrEqual(0.025 - tol);
    expect(below(iv.lo)).toBeLessThanOrEqual(0.025 + tol);
    expect(cdf(iv.hi)).toBeGreaterThanOrEqual(0.975 - tol);
    expect(below(iv.hi)).toBeLessThanOrEqual(0.975 + tol);
    // the exact percentile interval, by the same quantile rule, lies within the tolerance band too
    const lo = lowerQuantile(exact, 0.025);
    const hi = lowerQuantile(exact, 0.975);
    expect(Math.abs(cdf(iv.lo) - cdf(lo))).toBeLessThanOrEqual(tol + 1 / exact.length);
    expect(Math.abs(cdf(iv.hi) - cdf(hi))).toBeLessThanOrEqual(tol + 1 / exact.length);
  });

  it('is degenerate for one value or equal values, undefined for none, and the same for a fixed seed', () => {
    expect(bootstrapMeanInterval([4.5])).toEqual({ lo: 4.5, hi: 4.5 });
    expect(bootstrapMeanInterval([2, 2, 2])).toEqual({ lo: 2, hi: 2 });
    expect(bootstrapMeanInterval([])).toBeUndefined();
    expect(bootstrapMeanInterval([1, 5, 9, 2])).toEqual(bootstrapMeanInterval([1, 5, 9, 2]));
  });
});

/** E and std of the test score of the val-best among n draws, by listing every one of the N^n ordered draws. */
function exhaustiveExpectedMax(val: number[], test: number[], n: number, higher: boolean): { e: number; std: number } {
  const N = val.length;
  let s = 0;
  let s2 = 0;
  const total = N ** n;
  for (let c = 0; c < total; c++) {
    let best = -1;
    for (let j = 0, v = c; j < n; j++, v = Math.floor(v / N)) {
      const i = v % N;
      // strict order: better val wins, equal val goes to the smaller index (the ranking's tie-break)
      if (best < 0 || (higher ? val[i] > val[best] : val[i] < val[best]) || (val[i] === val[best] && i < best))
        best = i;
    }
    s += test[best];
    s2 += test[best] ** 2;
  }
  const e = s / total;
  return { e, std: Math.sqrt(Math.max(0, s2 / total - e * e)) };
}

describe('expectedMaxPerformance (Dodge et al. 2019)', () => {
  it('equals an exhaustive enumeration of every n-draw with replacement', () => {
    // lower val is better; index order below is best first (the tie at 0.4 goes to index 1)
    const val = [0.1, 0.4, 0.4, 0.7, 0.9];
    const test = [3.0, -1.0, 5.5, 2.0, 10.0];
    const worstToBest = [...test].reverse();
    const got = expectedMaxPerformance(worstToBest);
    expect(got.expected.length).toBe(5);
    for (let n = 1; n <= 5; n++) {
      const want = exhaustiveExpectedMax(val, test, n, false);
      expect(Math.abs(got.expected[n - 1] - want.e), `E n=${n}`).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(got.std[n - 1] - want.std), `std n=${n}`).toBeLessThanOrEqual(1e-9);
    }
    expect(got.expected[0]).toBeCloseTo(test.reduce((a, b) => a + b) / 5, 12); // n = 1: a uniform draw
  });

  it('lists the table budgets 1, 2, 5, 10, … and N', () => {
    expect(tableBudgets(1)).toEqual([1]);
    expect(tableBudgets(12)).toEqual([1, 2, 5, 10, 12]);
    expect(tableBudgets(50)).toEqual([1, 2, 5, 10, 20, 50]);
  });
});

describe('sweepDirName', () => {
  it('gives one safe path segment for any experiment name', () => {
    expect(['quickstart', 'a/b c', '..', '.', ''].map(sweepDirName)).toEqual(['quickstart', 'a_b_c', '_..', '_.', '_']);
  });
});

describe('formatting and thinning', () => {
  it('formats every number with four significant digits in one notation per magnitude', () => {
    const cases: [number, string][] = [
      [1.68269e-8, '1.683e-8'],
      [0.0000163866, '1.639e-5'],
      [0.0123456, '0.01235'],
      [2, '2.000'],
      [9.99951, '10.00'],
      [1234.5, '1235'],
      [12345.6, '1.235e4'],
      [-3.25, '-3.250'],
      [0, '0.000'],
    ];
    for (const [x, s] of cases) expect(formatNumber(x), String(x)).toBe(s);
    for (const x of [0.123456789, 12345.6789, 1.5e-7, -3.25, 1e9 / 7]) {
      const s = formatNumber(x);
      expect(
        s
          .replace(/^-/, '')
          .replace(/e-?\d+$/, '')
          .replace('.', '')
          .replace(/^0+/, '').length,
        s,
      ).toBe(4);
      expect(Math.abs(Number(s) - x)).toBeLessThanOrEqual(Math.abs(x) * 5e-4);
    }
  });
  it('thins a long history to at most the limit, keeping first and last steps', () => {
    const pts = Array.from({ length: 1001 }, (_, i) => ({ key: 'k', value: i, step: 1000 - i, timestamp: 0 }));
    const t = thin(pts, 100);
    expect(t.length).toBe(100);
    expect(t[0].step).toBe(0);
    expect(t[99].step).toBe(1000);
    expect(t.every((p, i) => i === 0 || p.step > t[i - 1].step)).toBe(true);
  });
});
