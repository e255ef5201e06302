/** The report's pure parts: ranking with ties, tag planning, number formatting, curve thinning. */
import { describe, expect, it } from 'vitest';
import { formatNumber } from '../src/report/format.js';
import { thin } from '../src/report/figures/curves.js';
import { planTagChanges, rankGroup, selectTopSets, sweepDirName, type ReportRun } from '../src/report/index.js';

function run(id: string, name: string, scores: Record<string, number>, status: ReportRun['status'] = 'FINISHED', tags: Record<string, string> = {}): ReportRun {
  return { runId: id, runName: name, experimentId: '1', status, dataset: 'd', model: 'dcgan', scores, trainKeys: [], params: {}, tags };
}

describe('rankGroup', () => {
  it('ranks by direction, ignores FAILED runs and breaks ties by run name then id', () => {
    const runs = [
      run('a', 'r3', { fid: 2 }),
      run('b', 'r1', { fid: 2 }),
      run('c', 'r2', { fid: 1 }),
      run('d', 'r0', { fid: 0.5 }, 'FAILED'),
      run('e', 'r1', { fid: 2 }),
      run('f', 'r9', { inception_score: 3 }),
    ];
    const fid = rankGroup(runs, 'fid', 3)!;
    expect(fid.ranked.map((r) => r.runId)).toEqual(['c', 'b', 'e', 'a']);
    expect(fid.top.map((r) => r.runId)).toEqual(['c', 'b', 'e']);
    expect(fid.bestValue).toBe(1);
    expect(fid.mean).toBeCloseTo(5 / 3, 12);
    expect(fid.std).toBeCloseTo(Math.sqrt(((1 - 5 / 3) ** 2 + 2 * (2 - 5 / 3) ** 2) / 2), 12);
    const is = rankGroup([...runs, run('g', 'r8', { inception_score: 5 })], 'inception_score', 10)!;
    expect(is.top.map((r) => r.runId)).toEqual(['g', 'f']);
    expect(rankGroup(runs, 'ms_ssim', 10)).toBeUndefined();
  });

  it('refuses a metric without a direction and a bad k', () => {
    expect(() => rankGroup([run('a', 'a', { foo: 1 })], 'foo', 10)).toThrow(/SCORE_DIRECTIONS/);
    expect(() => selectTopSets([], 0)).toThrow(/k must be/);
  });
});

describe('planTagChanges', () => {
  it('sets missing tags and removes tags of runs that dropped out or of metrics no longer ranked', () => {
    const runs = [
      run('a', 'a', { fid: 1 }, 'FINISHED', { 'ganstudy.top10.fid': 'true' }),
      run('b', 'b', { fid: 2 }),
      run('c', 'c', { fid: 3 }, 'FINISHED', { 'ganstudy.top10.fid': 'true', 'ganstudy.top10.kid': 'true' }),
      run('d', 'd', { fid: 0 }, 'FAILED', { 'ganstudy.top10.fid': 'true' }),
    ];
    const plan = planTagChanges(runs, selectTopSets(runs, 2));
    expect(plan.set).toEqual([{ runId: 'b', key: 'ganstudy.top10.fid' }]);
    expect(plan.removed.sort((x, y) => (x.runId + x.key < y.runId + y.key ? -1 : 1))).toEqual([
      { runId: 'c', key: 'ganstudy.top10.fid' },
      { runId: 'c', key: 'ganstudy.top10.kid' },
      { runId: 'd', key: 'ganstudy.top10.fid' },
    ]);
  });
});

describe('sweepDirName', () => {
  it('gives one safe path segment for any experiment name', () => {
    expect(['quickstart', 'a/b c', '..', '.', ''].map(sweepDirName)).toEqual(['quickstart', 'a_b_c', '_..', '_.', '_']);
  });
});

describe('formatting and thinning', () => {
  it('formats to six significant digits that Number() reads back', () => {
    for (const x of [0.123456789, 12345.6789, 1.5e-7, -3.25, 1e9 / 7]) {
      expect(Math.abs(Number(formatNumber(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 5e-6);
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
