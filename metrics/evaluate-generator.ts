/**
 * Scores a frozen generator with the evaluation suite of paper-spec §5 — what a trial runs after training and what
 * `ganstudy evaluate` runs on a folder of images. Each metric draws its own fresh samples (seeds derived from
 * `sampleSeed`), every score says which classifier produced it, and every score comes with its real-data
 * reference on the same protocol (design.md: `<metric>_real`).
 *
 * Score keys (only those computed):
 *   inception_score, inception_score_std   Inception-style score of `inceptionSamples` samples in `inceptionSplits`
 *   inception_score_real                   the same on `inceptionSamples` reference images, same splits (drawn
 *                                          with replacement when the reference has fewer; see `references`)
 *   ms_ssim, ms_ssim_real                  mean pairwise MS-SSIM over batches × batch size of samples, and of
 *                                          reference images (distinct images within each batch) (§5.2)
 *   critic_w, critic_w_train               independent Wasserstein critic trained on `criticTrain` against fresh
 *                                          samples: Ŵ on the reference images and on its own training images (§5.3)
 *   critic_w_real                          0: Ŵ of the data against itself (stated, not estimated)
 *   fid, kid, kid_std                      classifier features of samples vs. reference images (KID: 100 subsets of
 *                                          1,000, or one subset of all rows when fewer)
 *   fid_real, kid_real                     the floor: between two disjoint halves of the reference images
 *   modes_covered, modes_covered_real      (digit, colour) classes with ≥ modesMinCount of modesSamples images
 *                                          (ColorMNIST; modes.ts)
 *   classifier_accuracy                    held-out accuracy of a ganstudy-trained dataset classifier
 *
 * The dataset classifier is trained once per (dataset, steps, classifierSeed) and cached under `cacheDir`; its
 * seed does not follow the trial's seed (default 0), so every trial of a sweep is scored by the same network.
 */
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { createRng } from '../src/util/rng.js';
import { classifyInBatches } from './classifiers/apply.js';
import { getDatasetClassifier } from './classifiers/dataset-classifier.js';
import type { Classifier } from './classifiers/types.js';
import { independentCritic, type CriticCurvePoint } from './critic.js';
import { sampleDiversity } from './diversity.js';
import { frechetDistance } from './fid.js';
import { inceptionScoreFromProbs } from './inception-score.js';
import { kernelInceptionDistance, type KidOptions } from './kid.js';
import { modesCovered } from './modes.js';
import {
  EvalProtocolSchema,
  METRIC_NAMES,
  type EvalProtocol,
  type MetricName,
  type ResolvedEvalProtocol,
} from './protocol.js';
import {
  drawIndices,
  indexedSource,
  samplerSource,
  type CriticBuilder,
  type ImageSampler,
  type ImageSplit,
  type LabelledImageData,
} from './sources.js';

export interface EvaluateGeneratorOptions {
  /** n fresh samples of the frozen generator, NHWC in [-1, 1]; same seed → same images */
  sample: ImageSampler;
  /**
   * The real images every score is computed against and every `<metric>_real` reference is computed on: the
   * validation split for the scores that select (best checkpoint, refine), the test split for the held-out scores
   * of what was selected — call once per split, with a fresh `sampleSeed` for the test call.
   */
  reference: ImageSplit;
  /** the real images the independent critic trains on (paper-spec §5.3: the validation split); needed for critic_w */
  criticTrain?: ImageSplit;
  /** seed of the generated samples and of the reference draws; a fresh seed gives fresh samples */
  sampleSeed: number;
  /**
   * labelled data the cached dataset classifier trains and tests on (src/data's Dataset); needed for
   * inception_score, fid and modes_covered unless `classifier` is given
   */
  classifierData?: LabelledImageData;
  protocol: EvalProtocol;
  metrics: readonly MetricName[];
  /** where dataset classifiers are cached */
  cacheDir: string;
  onProgress?: (msg: string) => void;
  /** an ImageNet (or any) classifier instead of the dataset classifier, for IS and FID/KID */
  classifier?: Classifier;
  /** seed of the cached dataset classifier (default 0: shared by all trials) */
  classifierSeed?: number;
  /** builds the critic at the protocol's width (needed for critic_w; src/models' discriminator in the CLI/sweep) */
  buildCritic?: CriticBuilder;
  /** KID options (default: 100 subsets of 1,000; one subset when there are at most 1,000 rows) */
  kid?: KidOptions;
  /** also compute the real-data references (`<metric>_real`); default true */
  realReference?: boolean;
}

/** How a real-data reference was computed, so a report can say it. */
export interface ReferenceNote {
  /** reference images used */
  images: number;
  /** true when the reference split had fewer images than the protocol asks and images were reused */
  withReplacement: boolean;
  note: string;
}

export interface EvalReport {
  scores: Record<string, number>;
  /** per `<metric>_real` score: how it was computed */
  references: Record<string, ReferenceNote>;
  /** the classifier behind inception_score / fid / kid / modes_covered, or null when none was needed */
  classifier: string | null;
  /** held-out accuracy of that classifier where ganstudy trained it (also in scores.classifier_accuracy) */
  classifierAccuracy: number | null;
  criticCurve: CriticCurvePoint[];
  /** seconds spent per metric */
  timings: Record<string, number>;
}

interface Context {
  opts: EvaluateGeneratorOptions;
  protocol: ResolvedEvalProtocol;
  seeds: Record<'is' | 'diversity' | 'critic' | 'fid' | 'real' | 'modes', number>;
  real: boolean;
  report: EvalReport;
  progress: (msg: string) => void;
}

export async function evaluateGenerator(opts: EvaluateGeneratorOptions): Promise<EvalReport> {
  const protocol = parseProtocol(opts.protocol);
  for (const m of opts.metrics) {
    if (!(METRIC_NAMES as readonly string[]).includes(m)) {
      throw new Error(`evaluateGenerator: unknown metric '${m}' in metrics; known: ${METRIC_NAMES.join(', ')}`);
    }
  }
  if (opts.reference.size < 1)
    throw new Error(`evaluateGenerator: the reference split '${opts.reference.name ?? '?'}' is empty`);
  const want = new Set<MetricName>(opts.metrics);
  const rng = createRng(opts.sampleSeed);
  const seeds = {
    is: rng.seed(),
    diversity: rng.seed(),
    critic: rng.seed(),
    fid: rng.seed(),
    real: rng.seed(),
    modes: rng.seed(),
  };
  const report: EvalReport = {
    scores: {},
    references: {},
    classifier: null,
    classifierAccuracy: null,
    criticCurve: [],
    timings: {},
  };
  const ctx: Context = {
    opts,
    protocol,
    seeds,
    real: opts.realReference ?? true,
    report,
    progress: opts.onProgress ?? (() => {}),
  };
  const timed = async (name: string, f: () => Promise<void> | void): Promise<void> => {
    const t0 = performance.now();
    try {
      await f();
    } finally {
      report.timings[name] = (performance.now() - t0) / 1000;
    }
  };

  const needsClassifier = want.has('inception_score') || want.has('fid') || want.has('modes_covered');
  const { classifier, owned } = needsClassifier
    ? await timedClassifier(ctx, timed)
    : { classifier: null, owned: false };
  try {
    if (classifier) {
      report.classifier = classifier.name;
      if (classifier.accuracy !== undefined) report.scores.classifier_accuracy = classifier.accuracy;
      report.classifierAccuracy = classifier.accuracy ?? null;
    }
    if (want.has('inception_score')) await timed('inception_score', () => scoreInception(ctx, classifier!));
    if (want.has('ms_ssim')) await timed('ms_ssim', () => scoreDiversity(ctx));
    if (want.has('critic_w')) await timed('critic_w', () => scoreCritic(ctx));
    if (want.has('fid')) await timed('fid', () => scoreFid(ctx, classifier!));
    if (want.has('modes_covered')) await timed('modes_covered', () => scoreModes(ctx, classifier!));
  } finally {
    if (owned) classifier?.dispose();
  }
  return report;
}

async function timedClassifier(
  ctx: Context,
  timed: (name: string, f: () => Promise<void>) => Promise<void>,
): Promise<{ classifier: Classifier; owned: boolean }> {
  const { opts, protocol } = ctx;
  if (opts.classifier) return { classifier: opts.classifier, owned: false };
  const data = opts.classifierData;
  if (!data)
    throw new Error('evaluateGenerator: inception_score, fid and modes_covered need `classifier` or `classifierData`');
  let classifier: Classifier | null = null;
  await timed('classifier', async () => {
    ctx.progress(
      `classifier: dataset classifier for ${data.name} (${protocol.classifierSteps} steps, cached in ${opts.cacheDir})`,
    );
    classifier = await getDatasetClassifier(data, {
      steps: protocol.classifierSteps,
      seed: opts.classifierSeed ?? 0,
      cacheDir: opts.cacheDir,
      onProgress: ctx.progress,
    });
  });
  return { classifier: classifier!, owned: true };
}

/** the reference split's name for messages */
const refName = (ctx: Context): string => ctx.opts.reference.name ?? 'reference';

function scoreInception(ctx: Context, clf: Classifier): void {
  const { protocol: p, opts, report } = ctx;
  const n = p.inceptionSamples;
  ctx.progress(`inception_score: ${n} samples, ${p.inceptionSplits} splits, classifier ${clf.name}`);
  const { probs } = classifyInBatches(clf, samplerSource(opts.sample, ctx.seeds.is), n, { probs: true });
  const is = inceptionScoreFromProbs(probs!, p.inceptionSplits);
  report.scores.inception_score = is.mean;
  report.scores.inception_score_std = is.std;
  if (ctx.real) {
    // the same count and splits as the samples, in a seeded random order (some splits are stored class-ordered)
    const size = opts.reference.size;
    const order = drawIndices(size, n, ctx.seeds.real);
    const real = classifyInBatches(clf, indexedSource(opts.reference, order, ctx.seeds.real), n, { probs: true });
    report.scores.inception_score_real = inceptionScoreFromProbs(real.probs!, p.inceptionSplits).mean;
    report.references.inception_score_real = {
      images: n,
      withReplacement: n > size,
      note:
        `${n} ${refName(ctx)} images in ${p.inceptionSplits} splits` +
        (n > size ? `, drawn with replacement from ${size}` : ''),
    };
  }
  ctx.progress(
    `inception_score: ${is.mean.toFixed(4)} ± ${is.std.toFixed(4)} (real: ${report.scores.inception_score_real?.toFixed(4) ?? 'n/a'})`,
  );
}

function scoreDiversity(ctx: Context): void {
  const { diversityBatches: batches, diversityBatchSize: batchSize } = ctx.protocol;
  const { opts, report } = ctx;
  ctx.progress(`ms_ssim: ${batches} batches of ${batchSize} samples`);
  report.scores.ms_ssim = sampleDiversity(opts.sample, { batches, batchSize, seed: ctx.seeds.diversity }).mean;
  const ref = opts.reference;
  if (ctx.real && ref.size >= batchSize) {
    // distinct images within a batch (a duplicate pair would score 1); batches drawn independently
    const realSampler: ImageSampler = (count, seed) => {
      const b = ref.batch(drawIndices(ref.size, count, seed), seed);
      b.y?.dispose();
      return b.x;
    };
    report.scores.ms_ssim_real = sampleDiversity(realSampler, { batches, batchSize, seed: ctx.seeds.real }).mean;
    const reused = batches * batchSize > ref.size;
    report.references.ms_ssim_real = {
      images: batches * batchSize,
      withReplacement: reused,
      note:
        `${batches} batches of ${batchSize} distinct ${refName(ctx)} images` +
        (reused ? `; batches share images (${ref.size} in the split)` : ''),
    };
  } else if (ctx.real) {
    ctx.progress(
      `ms_ssim: no real reference: the ${refName(ctx)} split has ${ref.size} images, fewer than a batch of ${batchSize}`,
    );
  }
  ctx.progress(
    `ms_ssim: ${report.scores.ms_ssim.toFixed(4)} (real: ${report.scores.ms_ssim_real?.toFixed(4) ?? 'n/a'})`,
  );
}

async function scoreCritic(ctx: Context): Promise<void> {
  const { protocol: p, opts, report } = ctx;
  if (!opts.buildCritic)
    throw new Error('evaluateGenerator: critic_w needs `buildCritic` (the protocol fixes its width)');
  if (!opts.criticTrain)
    throw new Error('evaluateGenerator: critic_w needs `criticTrain`, the images the critic trains on');
  const trainName = opts.criticTrain.name ?? 'training';
  ctx.progress(
    `critic_w: ${p.criticSteps} critic steps (batch ${p.criticBatchSize}, width ${p.criticWidth}) on the ${trainName} split`,
  );
  const every = Math.max(1, Math.floor(p.criticSteps / 10));
  const res = await independentCritic({
    sample: opts.sample,
    train: opts.criticTrain,
    evalSplit: opts.reference,
    steps: p.criticSteps,
    batchSize: p.criticBatchSize,
    width: p.criticWidth,
    lr: p.criticLr,
    beta1: p.criticBeta1,
    beta2: p.criticBeta2,
    gpLambda: p.criticGpLambda,
    seed: ctx.seeds.critic,
    buildCritic: opts.buildCritic,
    onProgress: (q) => {
      if (q.step % every === 0 || q.step === q.steps) {
        ctx.progress(`critic_w: step ${q.step}/${q.steps} loss ${q.loss.toFixed(4)} Ŵ(batch) ${q.w.toFixed(4)}`);
      }
    },
  });
  report.scores.critic_w = res.w;
  report.scores.critic_w_train = res.wTrain;
  report.criticCurve = res.curve;
  if (ctx.real) {
    report.scores.critic_w_real = 0;
    report.references.critic_w_real = {
      images: 0,
      withReplacement: false,
      note: 'Ŵ of the data against itself is 0 by definition (not estimated)',
    };
  }
  ctx.progress(`critic_w: Ŵ(${refName(ctx)}) ${res.w.toFixed(4)}, Ŵ(${trainName}) ${res.wTrain.toFixed(4)}`);
}

function scoreFid(ctx: Context, clf: Classifier): void {
  const { protocol: p, opts, report } = ctx;
  const n = p.fidSamples;
  const size = opts.reference.size;
  const nRef = Math.min(n, size);
  // the floor compares two disjoint halves of the reference, each as large as the protocol allows
  const half = ctx.real ? Math.min(n, Math.floor(size / 2)) : 0;
  const nFeat = Math.max(nRef, 2 * half);
  ctx.progress(`fid: features of ${n} samples and ${nFeat} ${refName(ctx)} images (classifier ${clf.name})`);
  const fake = classifyInBatches(clf, samplerSource(opts.sample, ctx.seeds.fid), n, { features: true }).features!;
  const order = drawIndices(size, nFeat, ctx.seeds.fid);
  const real = classifyInBatches(clf, indexedSource(opts.reference, order, ctx.seeds.fid), nFeat, { features: true })
    .features!;
  const rows = (from: number, count: number) => {
    const d = real.shape[1];
    return { data: real.data.subarray(from * d, (from + count) * d), shape: [count, d] as [number, number] };
  };
  report.scores.fid = frechetDistance(fake, rows(0, nRef));
  const kid = (
    a: { data: Float32Array; shape: [number, number] },
    b: { data: Float32Array; shape: [number, number] },
  ) => {
    // a "subset" of every row is the whole set: with rows ≤ subset size every subset is the same, compute it once
    const subsets = Math.min(a.shape[0], b.shape[0]) <= (opts.kid?.subsetSize ?? 1000) ? 1 : undefined;
    return kernelInceptionDistance(a, b, {
      seed: ctx.seeds.fid % 2 ** 31,
      ...(subsets ? { subsets } : {}),
      ...opts.kid,
    });
  };
  if (Math.min(n, nRef) >= 2) {
    const k = kid(fake, rows(0, nRef));
    report.scores.kid = k.mean;
    report.scores.kid_std = k.std;
  }
  if (half >= 2) {
    report.scores.fid_real = frechetDistance(rows(0, half), rows(half, half));
    report.scores.kid_real = kid(rows(0, half), rows(half, half)).mean;
    const note = `two disjoint halves of ${half} ${refName(ctx)} images each (generated: ${n} samples vs ${nRef} images)`;
    report.references.fid_real = { images: 2 * half, withReplacement: false, note };
    report.references.kid_real = { images: 2 * half, withReplacement: false, note };
  }
  const kidText = report.scores.kid !== undefined ? `, kid ${report.scores.kid.toExponential(3)}` : '';
  ctx.progress(
    `fid: ${report.scores.fid.toFixed(4)}${kidText} (real floor: ${report.scores.fid_real?.toFixed(4) ?? 'n/a'})`,
  );
}

function scoreModes(ctx: Context, clf: Classifier): void {
  const { protocol: p, opts, report } = ctx;
  const [h, w, c] = sampleShape(opts.sample);
  if (c !== 3 || clf.numClasses !== 10) {
    throw new Error(
      `evaluateGenerator: modes_covered needs RGB digits and a 10-class digit classifier (ColorMNIST); got ${h}×${w}×${c} images and ${clf.numClasses} classes`,
    );
  }
  const n = p.modesSamples;
  ctx.progress(`modes_covered: ${n} samples, a (digit, colour) class counts with ≥ ${p.modesMinCount}`);
  const res = modesCovered(samplerSource(opts.sample, ctx.seeds.modes), n, clf, { minCount: p.modesMinCount });
  report.scores.modes_covered = res.covered;
  if (ctx.real) {
    const size = opts.reference.size;
    const order = drawIndices(size, n, ctx.seeds.real);
    const real = modesCovered(indexedSource(opts.reference, order, ctx.seeds.real), n, clf, {
      minCount: p.modesMinCount,
    });
    report.scores.modes_covered_real = real.covered;
    report.references.modes_covered_real = {
      images: n,
      withReplacement: n > size,
      note: `${n} ${refName(ctx)} images` + (n > size ? `, drawn with replacement from ${size}` : ''),
    };
  }
  ctx.progress(`modes_covered: ${res.covered} of ${res.total} (real: ${report.scores.modes_covered_real ?? 'n/a'})`);
}

function sampleShape(sample: ImageSampler): [number, number, number] {
  const x: Tensor4D = sample(1, 0);
  const [, h, w, c] = x.shape;
  x.dispose();
  return [h, w, c];
}

function parseProtocol(p: EvalProtocol): ResolvedEvalProtocol {
  const r = EvalProtocolSchema.safeParse(p);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`evaluateGenerator: protocol.${issue?.path.join('.')} is invalid: ${issue?.message}`);
  }
  return r.data;
}
