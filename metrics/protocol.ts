/**
 * How a trained generator is scored: which metrics, and with how many samples and steps.
 * Presets (experiments/) carry a paper-scale and a quick protocol; sweeps may override fields.
 */
import { z } from 'zod';

export const METRIC_NAMES = ['inception_score', 'ms_ssim', 'critic_w', 'fid'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

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
  /** samples (and real test images) for FID/KID */
  fidSamples: z.number().int().positive(),
  /** steps of training for the dataset classifier used by the Inception-style score (cached on disk) */
  classifierSteps: z.number().int().positive(),
});
export type EvalProtocol = z.infer<typeof EvalProtocolSchema>;

/** Direction of every logged score: the one place that says whether higher is better. */
export const SCORE_DIRECTIONS: Record<string, 'higher' | 'lower'> = {
  inception_score: 'higher',
  ms_ssim: 'lower',
  critic_w: 'lower',
  fid: 'lower',
  kid: 'lower',
};
