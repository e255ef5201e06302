/**
 * Scores a frozen generator with the evaluation suite of paper-spec §5 — what a trial runs after training and what
 * `ganstudy evaluate` runs on a folder of images. Each metric draws its own fresh samples (seeds derived from
 * `seed`), and every score says which classifier produced it.
 *
 * Score keys (only those computed):
 *   inception_score, inception_score_std   Inception-style score of `inceptionSamples` samples (splits from the
 *                                          protocol) with the classifier; inception_score_real: the same on real
 *                                          test images (the ceiling, paper-spec §5.1)
 *   ms_ssim, ms_ssim_real                  sample diversity: mean pairwise MS-SSIM over batches of samples, and of
 *                                          held-out (test) images as the reference level (§5.2)
 *   critic_w, critic_w_train               independent Wasserstein critic trained on the validation split, Ŵ on the
 *                                          test split and on its own training images (§5.3)
 *   fid, kid, kid_std                      on the classifier's features of samples vs. test images (KID: 100
 *                                          subsets of 1,000, or one subset of all rows when fewer)
 *   classifier_accuracy                    held-out accuracy of a ganstudy-trained dataset classifier
 *
 * The dataset classifier is trained once per (dataset, steps, classifierSeed) and cached under `cacheDir`; its
 * seed does not follow the trial's seed (default 0), so every trial of a sweep is scored by the same network.
 */
import type { Tensor4D } from '@tensorflow/tfjs-node';
import type { Dataset, DatasetSplit } from '../src/data/types.js';
import type { ArchitectureConfig, Resolution } from '../src/models/types.js';
import { createRng } from '../src/util/rng.js';
import { classifyInBatches, type ImageSource } from './classifiers/apply.js';
import { getDatasetClassifier } from './classifiers/dataset-classifier.js';
import type { Classifier } from './classifiers/types.js';
import { independentCritic, type CriticCurvePoint, type IndependentCriticOptions } from './critic.js';
import { sampleDiversity } from './diversity.js';
import { frechetDistance, kernelInceptionDistance, type KidOptions } from './frechet.js';
import { inceptionScoreFromProbs } from './inception-score.js';
import { EvalProtocolSchema, METRIC_NAMES, type EvalProtocol, type MetricName } from './protocol.js';

export interface EvaluateGeneratorOptions {
  /** n fresh samples of the frozen generator, NHWC in [-1, 1]; same seed → same images */
  sample: (n: number, seed: number) => Tensor4D;
  dataset: Dataset;
  protocol: EvalProtocol;
  metrics: readonly MetricName[];
  seed: number;
  /** where dataset classifiers are cached */
  cacheDir: string;
  onProgress?: (msg: string) => void;
  /** an ImageNet (or any) classifier instead of the dataset classifier, for IS and FID/KID */
  classifier?: Classifier;
  /** seed of the cached dataset classifier (default 0: shared by all trials) */
  classifierSeed?: number;
  /** the critic's architecture; default: the dataset's discriminator (paper-spec §3) at width 1, no batch norm */
  criticArch?: ArchitectureConfig;
  /** a custom critic builder (tests, other resolutions) */
  buildCritic?: IndependentCriticOptions['buildCritic'];
  /** critic learning rate (default 1e-4, paper-spec §5.3) */
  criticLr?: number;
  /** KID options (default: 100 subsets of 1,000; one subset when there are at most 1,000 rows) */
  kid?: KidOptions;
  /** also score real test images with the classifier (inception_score_real); default true */
  realReference?: boolean;
}

export interface EvalReport {
  scores: Record<string, number>;
  /** the classifier behind inception_score / fid / kid, or null when none was needed */
  classifier: string | null;
  /** held-out accuracy of that classifier where ganstudy trained it (also in scores.classifier_accuracy) */
  classifierAccuracy: number | null;
  criticCurve: CriticCurvePoint[];
  /** seconds spent per metric */
  timings: Record<string, number>;
}

const DIVERSITY_SEED_OFFSET = 1;

export async function evaluateGenerator(opts: EvaluateGeneratorOptions): Promise<EvalReport> {
  const protocol = parseProtocol(opts.protocol);
  for (const m of opts.metrics) {
    if (!(METRIC_NAMES as readonly string[]).includes(m)) {
      throw new Error(`evaluateGenerator: unknown metric '${m}' in metrics; known: ${METRIC_NAMES.join(', ')}`);
    }
  }
  const want = new Set<MetricName>(opts.metrics);
  const progress = opts.onProgress ?? (() => {});
  const rng = createRng(opts.seed);
  const seeds = { is: rng.seed(), diversity: rng.seed(), critic: rng.seed(), fid: rng.seed(), real: rng.seed() };
  const scores: Record<string, number> = {};
  const timings: Record<string, number> = {};
  let criticCurve: CriticCurvePoint[] = [];
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = (performance.now() - t0) / 1000;
    }
  };

  let classifier: Classifier | null = null;
  let ownClassifier = false;
  const needsClassifier = want.has('inception_score') || want.has('fid');
  try {
    if (needsClassifier) {
      if (opts.classifier) {
        classifier = opts.classifier;
      } else {
        progress(`classifier: dataset classifier for ${opts.dataset.name} (${protocol.classifierSteps} steps, cached in ${opts.cacheDir})`);
        const dc = await timed('classifier', () =>
          getDatasetClassifier(opts.dataset, {
            steps: protocol.classifierSteps,
            seed: opts.classifierSeed ?? 0,
            cacheDir: opts.cacheDir,
            onProgress: progress,
          }),
        );
        classifier = dc;
        ownClassifier = true;
      }
      if (classifier.accuracy !== undefined) scores.classifier_accuracy = classifier.accuracy;
    }

    if (want.has('inception_score') && classifier) {
      const clf = classifier;
      await timed('inception_score', () => {
        const n = protocol.inceptionSamples;
        progress(`inception_score: ${n} samples, ${protocol.inceptionSplits} splits, classifier ${clf.name}`);
        const { probs } = classifyInBatches(clf, samplerSource(opts.sample, seeds.is), n, { probs: true });
        const is = inceptionScoreFromProbs(probs!, protocol.inceptionSplits);
        scores.inception_score = is.mean;
        scores.inception_score_std = is.std;
        const nReal = Math.min(n, opts.dataset.test.size);
        if ((opts.realReference ?? true) && nReal >= protocol.inceptionSplits) {
          // a seeded permutation of the test split: splits are contiguous and some splits are stored class-ordered
          const real = classifyInBatches(clf, splitSource(opts.dataset.test, nReal, seeds.real), nReal, { probs: true });
          scores.inception_score_real = inceptionScoreFromProbs(real.probs!, protocol.inceptionSplits).mean;
        }
        progress(`inception_score: ${scores.inception_score.toFixed(4)} ± ${scores.inception_score_std.toFixed(4)}`);
      });
    }

    if (want.has('ms_ssim')) {
      await timed('ms_ssim', () => {
        const { diversityBatches: batches, diversityBatchSize: batchSize } = protocol;
        progress(`ms_ssim: ${batches} batches of ${batchSize} samples`);
        scores.ms_ssim = sampleDiversity(opts.sample, { batches, batchSize, seed: seeds.diversity }).mean;
        // the reference level on held-out images, distinct images per batch (duplicates would score 1)
        const test = opts.dataset.test;
        const realBatches = Math.min(batches, Math.floor(test.size / batchSize));
        if (realBatches >= 1) {
          const b = test.sample(realBatches * batchSize, seeds.diversity + DIVERSITY_SEED_OFFSET);
          b.y?.dispose();
          try {
            scores.ms_ssim_real = sampleDiversity(b.x, { batches: realBatches, batchSize }).mean;
          } finally {
            b.x.dispose();
          }
        }
        progress(`ms_ssim: ${scores.ms_ssim.toFixed(4)} (real test images: ${scores.ms_ssim_real?.toFixed(4) ?? 'n/a'})`);
      });
    }

    if (want.has('critic_w')) {
      await timed('critic_w', async () => {
        const arch = opts.buildCritic ? undefined : (opts.criticArch ?? discriminatorArchFor(opts.dataset));
        progress(`critic_w: ${protocol.criticSteps} critic steps (batch ${protocol.criticBatchSize}) on the validation split`);
        const every = Math.max(1, Math.floor(protocol.criticSteps / 10));
        const res = await independentCritic({
          sample: opts.sample,
          train: opts.dataset.validation,
          evalSplit: opts.dataset.test,
          steps: protocol.criticSteps,
          batchSize: protocol.criticBatchSize,
          seed: seeds.critic,
          ...(arch ? { arch } : {}),
          ...(opts.buildCritic ? { buildCritic: opts.buildCritic } : {}),
          ...(opts.criticLr !== undefined ? { lr: opts.criticLr } : {}),
          onProgress: (p) => {
            if (p.step % every === 0 || p.step === p.steps) {
              progress(`critic_w: step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} Ŵ(batch) ${p.w.toFixed(4)}`);
            }
          },
        });
        scores.critic_w = res.w;
        scores.critic_w_train = res.wTrain;
        criticCurve = res.curve;
        progress(`critic_w: Ŵ(test) ${res.w.toFixed(4)}, Ŵ(validation) ${res.wTrain.toFixed(4)}`);
      });
    }

    if (want.has('fid') && classifier) {
      const clf = classifier;
      await timed('fid', () => {
        const nReal = Math.min(protocol.fidSamples, opts.dataset.test.size);
        const n = protocol.fidSamples;
        progress(`fid: features of ${n} samples and ${nReal} test images (classifier ${clf.name})`);
        const fake = classifyInBatches(clf, samplerSource(opts.sample, seeds.fid), n, { features: true }).features!;
        const real = classifyInBatches(clf, splitSource(opts.dataset.test, nReal, seeds.fid), nReal, { features: true }).features!;
        scores.fid = frechetDistance(fake, real);
        if (Math.min(n, nReal) >= 2) {
          // a "subset" of every row is the whole set: with n ≤ subset size every subset is the same, compute it once
          const subsetSize = opts.kid?.subsetSize ?? 1000;
          const subsets = Math.min(n, nReal) <= subsetSize ? 1 : undefined;
          const kid = kernelInceptionDistance(fake, real, { seed: seeds.fid % 2 ** 31, ...(subsets ? { subsets } : {}), ...opts.kid });
          scores.kid = kid.mean;
          scores.kid_std = kid.std;
        }
        progress(`fid: ${scores.fid.toFixed(4)}${scores.kid !== undefined ? `, kid ${scores.kid.toExponential(3)}` : ''}`);
      });
    }
  } finally {
    if (ownClassifier) classifier?.dispose();
  }
  return {
    scores,
    classifier: classifier?.name ?? null,
    classifierAccuracy: scores.classifier_accuracy ?? null,
    criticCurve,
    timings,
  };
}

function parseProtocol(p: EvalProtocol): EvalProtocol {
  const r = EvalProtocolSchema.safeParse(p);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`evaluateGenerator: protocol.${issue?.path.join('.')} is invalid: ${issue?.message}`);
  }
  return r.data;
}

/** The dataset's discriminator (paper-spec §3) at the paper's width; the critic builder drops batch norm. */
export function discriminatorArchFor(dataset: Dataset): ArchitectureConfig {
  const [h, w, c] = dataset.shape;
  if (h !== w || ![28, 32, 64].includes(h)) {
    throw new Error(
      `evaluateGenerator: no discriminator architecture for ${h}×${w} images (paper-spec §3 has 28, 32 and 64); pass criticArch or buildCritic`,
    );
  }
  // zDim does not enter a discriminator
  return { resolution: h as Resolution, channels: c, zDim: 128, widthMultiplier: 1 };
}

/** Generator samples as a chunked source: chunk k gets its own seed, so any n is reproducible. */
function samplerSource(sample: (n: number, seed: number) => Tensor4D, seed: number): ImageSource {
  return (start, count) => sample(count, (seed + start) >>> 0);
}

/** n images of a split in a seeded random order (without replacement), as a chunked source. */
function splitSource(split: DatasetSplit, n: number, seed: number): ImageSource {
  const rng = createRng(seed);
  const order = Int32Array.from({ length: split.size }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return (start, count) => {
    const b = split.batch(order.subarray(start, start + count), seed + start);
    b.y?.dispose();
    return b.x;
  };
}
