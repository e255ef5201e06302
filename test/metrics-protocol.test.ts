/**
 * The evaluation protocol as data: the critic's paper-spec defaults, the ranking rule (MS-SSIM by closeness to the
 * real data's own MS-SSIM), the critic fixed by the protocol rather than by a trial's model width, and the
 * reference draws (distinct images when the split is large enough, every image equally often otherwise).
 */
import { describe, expect, it } from 'vitest';
import { getPreset } from '../experiments/index.js';
import { MODEL_NAMES } from '../src/models/types.js';
import {
  CRITIC_MAX_PASSES,
  criticMemorisationWarning,
  EvalProtocolSchema,
  RANKING,
  rankingValue,
  SCORE_DIRECTIONS,
} from '../metrics/protocol.js';
import { drawIndices } from '../metrics/sources.js';

const base = {
  inceptionSamples: 100,
  inceptionSplits: 10,
  diversityBatches: 1,
  diversityBatchSize: 8,
  criticSteps: 10,
  criticBatchSize: 8,
  fidSamples: 100,
  classifierSteps: 10,
};

describe('evaluation protocol', () => {
  it('fills the critic fields with paper-spec §5.3 defaults and validates them', () => {
    expect(EvalProtocolSchema.parse(base)).toMatchObject({
      criticWidth: 1,
      criticLr: 1e-4,
      criticBeta1: 0.5,
      criticBeta2: 0.9,
      criticGpLambda: 10,
    });
    expect(() => EvalProtocolSchema.parse({ ...base, criticWidth: 0 })).toThrow(/criticWidth/);
    expect(() => EvalProtocolSchema.parse({ ...base, criticBeta2: 1.5 })).toThrow(/criticBeta2/);
  });

  it('ranks MS-SSIM by |ms_ssim − ms_ssim_real| so that noise does not win; other scores raw', () => {
    expect(RANKING.ms_ssim).toEqual({ direction: 'lower', closeTo: 'ms_ssim_real' });
    const real = 0.3;
    const good = rankingValue('ms_ssim', { ms_ssim: 0.32, ms_ssim_real: real })!;
    const noise = rankingValue('ms_ssim', { ms_ssim: 0.01, ms_ssim_real: real })!;
    const collapsed = rankingValue('ms_ssim', { ms_ssim: 0.9, ms_ssim_real: real })!;
    expect(good).toBeCloseTo(0.02, 12);
    expect(noise).toBeCloseTo(0.29, 12);
    expect(collapsed).toBeCloseTo(0.6, 12);
    expect(good).toBeLessThan(noise);
    expect(rankingValue('ms_ssim', { ms_ssim: 0.2 })).toBeNull();
    expect(rankingValue('fid', { fid: 12.5, fid_real: 1 })).toBe(12.5);
    expect(rankingValue('fid', { fid: Number.NaN })).toBeNull();
    expect(() => rankingValue('nope', {})).toThrow(/no ranking rule for 'nope'/);
    for (const [m, d] of Object.entries(SCORE_DIRECTIONS)) expect(RANKING[m]?.direction).toBe(d);
  });

  it('fixes the critic in the protocol, the same for every model whatever its width', () => {
    const quick = MODEL_NAMES.map((m) => getPreset(m, 'colormnist', 'quick'));
    for (const p of quick) {
      expect(p.eval).toMatchObject({
        criticWidth: 0.25,
        criticLr: 1e-4,
        criticBeta1: 0.5,
        criticBeta2: 0.9,
        criticGpLambda: 10,
      });
    }
    // a paper-width model and a quick-width model are scored by critics of the protocol's width, not theirs
    const paper = getPreset('dcgan', 'colormnist', 'paper');
    expect(paper.arch.widthMultiplier).toBe(1);
    expect(EvalProtocolSchema.parse(paper.eval).criticWidth).toBe(1);
    // the synthetic smoke preset keeps a tiny critic of its own, also in the protocol
    expect(getPreset('dcgan', 'synthetic', 'quick').eval.criticWidth).toBe(0.125);
  });

  it('draws reference indices without replacement when it can, evenly with replacement when it must', () => {
    const a = drawIndices(50, 30, 1);
    expect(new Set(a).size).toBe(30);
    expect(Array.from(a).every((i) => i >= 0 && i < 50)).toBe(true);
    expect(Array.from(drawIndices(50, 30, 1))).toEqual(Array.from(a));
    const b = drawIndices(7, 30, 2);
    const counts = new Array<number>(7).fill(0);
    for (const i of b) counts[i]!++;
    // 30 = 4 full passes of 7 + 2: every image 4 or 5 times
    expect(Math.min(...counts)).toBe(4);
    expect(Math.max(...counts)).toBe(5);
  });
});

describe('a critic that would memorise its validation split is named before training', () => {
  it('warns for the paper protocol on ColorMNIST (the shipped digits) and not for the quick one', async () => {
    const { loadDataset } = await import('../src/data/index.js');
    const { datasetSpecFor } = await import('../experiments/index.js');
    const data = await loadDataset(datasetSpecFor('colormnist', 'paper'));
    const n = data.validation.size;
    const paper = getPreset('dcgan', 'colormnist', 'paper').eval;
    const quick = getPreset('dcgan', 'colormnist', 'quick').eval;
    const passes = (paper.criticSteps * paper.criticBatchSize) / n;
    expect(passes).toBeGreaterThan(CRITIC_MAX_PASSES);
    expect(criticMemorisationWarning(paper, n)).toContain(`${Math.round(passes)} passes`);
    expect((quick.criticSteps * quick.criticBatchSize) / n).toBeLessThanOrEqual(CRITIC_MAX_PASSES);
    expect(criticMemorisationWarning(quick, n)).toBeNull();
  });

  it('draws the line at CRITIC_MAX_PASSES passes over the critic training images', () => {
    const at = { ...base, criticSteps: 100, criticBatchSize: 10 };
    expect(criticMemorisationWarning(at, 10)).toBeNull();
    expect(criticMemorisationWarning(at, 9)).toContain('111 passes');
  });
});
