/**
 * How a trained generator is scored: which metrics, with how many samples and steps, and the independent critic
 * that serves as a fixed yardstick. Presets (experiments/) carry a paper-scale and a quick protocol; sweeps may
 * override fields. The critic's architecture width, optimiser and batch belong here and never follow the trial's
 * model settings (paper-spec: "independent critic's size"), so Ŵ is comparable across trials.
 */
import { z } from 'zod';

export const MetricNameSchema = z.enum(['inception_score', 'ms_ssim', 'critic_w', 'fid', 'modes_covered']);
export const METRIC_NAMES = MetricNameSchema.options;
export type MetricName = z.infer<typeof MetricNameSchema>;

export const EvalProtocolSchema = z.object({
  /** generated images scored by the Inception-style score (paper practice: 50,000) */
  inceptionSamples: z.number().int().positive(),
  inceptionSplits: z.number().int().positive(),
  /** MS-SSIM sample diversity: batches × batch size (paper-spec: 5 × 64) */
  diversityBatches: z.number().int().positive(),
  diversityBatchSize: z.number().int().min(2),
  /** independent Wasserstein critic training steps K and batch size */
  criticSteps: z.number().int().positive(),
  criticBatchSize: z.number().int().positive(),
  /** width multiplier of the critic (the dataset's discriminator without batch norm; paper-spec §5.3: 1) */
  criticWidth: z.number().positive().default(1),
  /** the critic's Adam settings and gradient-penalty weight (paper-spec §5.3) */
  criticLr: z.number().positive().default(1e-4),
  criticBeta1: z.number().min(0).max(1).default(0.5),
  criticBeta2: z.number().min(0).max(1).default(0.9),
  criticGpLambda: z.number().min(0).default(10),
  /** samples (and real reference images) for FID/KID */
  fidSamples: z.number().int().positive(),
  /** steps of training for the dataset classifier used by the Inception-style score (cached on disk) */
  classifierSteps: z.number().int().positive(),
  /** modes_covered: samples classified, and how many must fall in a (digit, colour) class to cover it */
  modesSamples: z.number().int().positive().default(1_000),
  modesMinCount: z.number().int().positive().default(3),
});
/** a protocol as written (critic optimiser, width and mode-count fields may be left to their defaults) */
export type EvalProtocol = z.input<typeof EvalProtocolSchema>;
/** a protocol with every default filled in */
export type ResolvedEvalProtocol = z.output<typeof EvalProtocolSchema>;

/** Direction of every logged raw score: the one place that says whether higher is better. */
export const SCORE_DIRECTIONS: Record<string, 'higher' | 'lower'> = {
  inception_score: 'higher',
  ms_ssim: 'lower',
  critic_w: 'lower',
  fid: 'lower',
  kid: 'lower',
  modes_covered: 'higher',
};

/**
 * How runs are ranked on each score (paper-spec "ranking direction"). MS-SSIM is ranked by closeness to the real
 * data's own MS-SSIM, |ms_ssim − ms_ssim_real|, lower better: noise has the lowest MS-SSIM of all, so raw
 * lower-is-better would crown it. Both raw values stay logged; the others rank on the raw score.
 */
export const RANKING: Record<string, { direction: 'higher' | 'lower'; closeTo?: string }> = {
  inception_score: { direction: 'higher' },
  ms_ssim: { direction: 'lower', closeTo: 'ms_ssim_real' },
  critic_w: { direction: 'lower' },
  fid: { direction: 'lower' },
  kid: { direction: 'lower' },
  modes_covered: { direction: 'higher' },
};

/**
 * The value a run is ranked by on `metric` (sort by RANKING[metric].direction), or null when a needed score is
 * missing or not finite (e.g. ms_ssim without ms_ssim_real).
 */
export function rankingValue(metric: string, scores: Readonly<Record<string, number | undefined>>): number | null {
  const rule = RANKING[metric];
  if (!rule)
    throw new Error(`rankingValue: no ranking rule for '${metric}'; known: ${Object.keys(RANKING).join(', ')}`);
  const raw = scores[metric];
  if (raw === undefined || !Number.isFinite(raw)) return null;
  if (rule.closeTo === undefined) return raw;
  const ref = scores[rule.closeTo];
  if (ref === undefined || !Number.isFinite(ref)) return null;
  return Math.abs(raw - ref);
}

/**
 * Passes over its training data beyond which the independent critic memorises that data: its Ŵ then measures how
 * well it recalls the validation images rather than how far the samples are from the data distribution.
 */
export const CRITIC_MAX_PASSES = 100;

/**
 * A one-line warning when the protocol's critic would see each of its training images more than CRITIC_MAX_PASSES
 * times (e.g. the paper protocol's 20,000 × 64 critic on ColorMNIST's 1,000 validation images), else null.
 */
export function criticMemorisationWarning(protocol: EvalProtocol, criticTrainSize: number): string | null {
  const p = EvalProtocolSchema.parse(protocol);
  const passes = (p.criticSteps * p.criticBatchSize) / Math.max(criticTrainSize, 1);
  if (passes <= CRITIC_MAX_PASSES) return null;
  return (
    `the independent critic trains ${p.criticSteps} × ${p.criticBatchSize} examples on ${criticTrainSize} ` +
    `validation images (${Math.round(passes)} passes, more than ${CRITIC_MAX_PASSES}): it will memorise them, so ` +
    'critic_w measures recall of those images; use a larger validation split or fewer critic steps'
  );
}
