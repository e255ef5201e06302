/**
 * The independent Wasserstein critic (paper-spec §5.3, Danihelka et al. 2017): a fresh critic, never seen by the
 * generator, trained with the WGAN-GP loss to tell held-out validation images from fresh samples of the frozen
 * generator. Its estimate on a third set of images (the test split),
 *
 *     Ŵ = mean f(test images) − mean f(fresh samples)        (≥ 0 approx.; lower is better),
 *
 * approximates the Wasserstein-1 distance between the data and the generator distribution under the L2 pixel
 * metric. The same estimate on the critic's own training (validation) images is reported beside it, so a critic
 * that overfits its training images shows up as a gap between the two; its training curve is kept too.
 *
 * Pitfalls handled (paper-spec §8.3): no batch norm in the critic (the penalty is per example); ε drawn per
 * example; the penalty is on the gradient norm over the whole flattened image.
 *
 * The caller builds the network (`buildCritic`, at the protocol's width and from the given seed): the critic is a
 * fixed yardstick of the evaluation protocol, never the trial's own discriminator settings. The zero gradients of
 * comparison ops that double backprop through a leaky ReLU needs are registered here, when a critic trains
 * (gradients.ts), not at import.
 */
import { z } from 'zod';
import type { LayersModel, Optimizer, Scalar, Tensor, Tensor4D, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { createRng, type Rng } from '../src/util/rng.js';
import { registerComparisonGradients } from './gradients.js';
import { drawIndices, shuffledBatches, type CriticBuilder, type ImageSampler, type ImageSplit } from './sources.js';

export interface CriticCurvePoint {
  step: number;
  /** WGAN-GP critic loss on this step's batch: mean f(fake) − mean f(real) + λ·GP */
  loss: number;
  /** the minibatch estimate mean f(real) − mean f(fake) on this step's batch */
  w: number;
  /** the gradient-penalty term (before λ) */
  gp: number;
}

export interface IndependentCriticOptions {
  /** fresh samples of the frozen generator, NHWC in [-1, 1]; same seed → same images */
  sample: ImageSampler;
  /** the images the critic trains on (the validation split) */
  train: ImageSplit;
  /** the images Ŵ is reported on (the test split) */
  evalSplit: ImageSplit;
  /** K, the number of critic updates */
  steps: number;
  batchSize?: number;
  seed: number;
  /**
   * builds the critic (one linear output, no batch norm, initialised from `spec.seed`); the evaluation protocol
   * fixes its width, never the trial (`ganstudy evaluate` and the sweep pass the dataset's discriminator)
   */
  buildCritic: CriticBuilder;
  /** width multiplier handed to `buildCritic` (default 1, the paper's discriminator width) */
  width?: number;
  lr?: number;
  beta1?: number;
  beta2?: number;
  gpLambda?: number;
  /** real images (and as many fresh samples) used for the final estimates; default min(eval split size, 10,000) */
  evalSamples?: number;
  /** keep a curve point every this many steps (default: about 200 points over the run) */
  curveEvery?: number;
  /** also compute Ŵ after these steps (same images as the final estimate), e.g. to study how Ŵ settles with K */
  estimateAt?: readonly number[];
  onProgress?: (p: { step: number; steps: number; loss: number; w: number }) => void;
}

export interface IndependentCriticResult {
  /** Ŵ on the evaluation (test) split: mean f(test) − mean f(samples); lower is better */
  w: number;
  /** Ŵ on the critic's own training (validation) images against the same fresh samples */
  wTrain: number;
  curve: CriticCurvePoint[];
  /** Ŵ after each step of `estimateAt` (and after the last step) */
  estimates: { step: number; w: number; wTrain: number }[];
  steps: number;
  evalSamples: number;
  /** the settings the critic ran with, for logging beside the score */
  settings: {
    batchSize: number;
    lr: number;
    beta1: number;
    beta2: number;
    gpLambda: number;
    seed: number;
    width: number;
  };
}

const NumericOptionsSchema = z.object({
  steps: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  seed: z.number().int(),
  lr: z.number().positive(),
  beta1: z.number().min(0).max(1),
  beta2: z.number().min(0).max(1),
  gpLambda: z.number().min(0),
  width: z.number().positive(),
  evalSamples: z.number().int().positive().optional(),
  curveEvery: z.number().int().positive().optional(),
});

const EVAL_BATCH = 256;

type CriticSettings = z.infer<typeof NumericOptionsSchema>;
type ImageShape = [number, number, number];
type Estimate = IndependentCriticResult['estimates'][number];

export async function independentCritic(opts: IndependentCriticOptions): Promise<IndependentCriticResult> {
  const o = parseCriticOptions(opts);
  registerComparisonGradients();
  // the order of draws from this stream fixes the critic, the estimate images and every batch
  const rng = createRng(o.seed);
  const shape = imageShape(opts.train);
  const critic = await opts.buildCritic({ shape, width: o.width, seed: rng.seed() });
  assertSingleOutput(critic, shape);
  try {
    const nEval = Math.min(o.evalSamples ?? 10_000, opts.evalSplit.size);
    const estimate = criticEstimator(critic, opts, shape, nEval, [rng.seed(), rng.seed(), rng.seed()]);
    const { curve, estimates } = trainCritic(critic, opts, o, shape, rng, estimate);
    // final estimates: one mean over fresh samples, shared by both so their difference is only the real images
    const final = estimate(o.steps);
    estimates.push(final);
    const { batchSize, lr, beta1, beta2, gpLambda, seed, width } = o;
    return {
      w: final.w,
      wTrain: final.wTrain,
      curve,
      estimates,
      steps: o.steps,
      evalSamples: nEval,
      settings: { batchSize, lr, beta1, beta2, gpLambda, seed, width },
    };
  } finally {
    critic.dispose();
  }
}

/** Fills in the protocol's defaults and rejects options the critic cannot run with. */
function parseCriticOptions(opts: IndependentCriticOptions): CriticSettings {
  const parsed = NumericOptionsSchema.safeParse({
    steps: opts.steps,
    batchSize: opts.batchSize ?? 64,
    seed: opts.seed,
    lr: opts.lr ?? 1e-4,
    beta1: opts.beta1 ?? 0.5,
    beta2: opts.beta2 ?? 0.9,
    gpLambda: opts.gpLambda ?? 10,
    width: opts.width ?? 1,
    evalSamples: opts.evalSamples,
    curveEvery: opts.curveEvery,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`independentCritic: option '${issue?.path.join('.')}' is invalid: ${issue?.message}`);
  }
  if (typeof opts.buildCritic !== 'function') {
    throw new Error('independentCritic: pass `buildCritic` (e.g. the dataset discriminator without batch norm)');
  }
  if (opts.train.size === 0) throw new Error(`independentCritic: the training split '${opts.train.name}' is empty`);
  if (opts.evalSplit.size === 0) {
    throw new Error(`independentCritic: the evaluation split '${opts.evalSplit.name}' is empty`);
  }
  return parsed.data;
}

/** [H, W, C] of the split's images, read from a one-image batch. */
function imageShape(split: ImageSplit): ImageShape {
  const probe = split.batch([0]);
  const shape = probe.x.shape.slice(1) as ImageShape;
  probe.x.dispose();
  probe.y?.dispose();
  return shape;
}

/**
 * Ŵ on the evaluation split and on the critic's training images, after `step`. The estimates use the same images
 * and samples whenever they are taken, so they differ only by training.
 */
function criticEstimator(
  critic: LayersModel,
  opts: IndependentCriticOptions,
  shape: ImageShape,
  nEval: number,
  seeds: readonly [number, number, number],
): (step: number) => Estimate {
  const nTrain = Math.min(nEval, opts.train.size);
  return (step) => {
    const meanFake = meanCriticOnSamples(critic, opts.sample, nEval, seeds[0], shape);
    const meanTest = meanCriticOnSplit(critic, opts.evalSplit, nEval, seeds[1]);
    const meanTrain = meanCriticOnSplit(critic, opts.train, nTrain, seeds[2]);
    return { step, w: meanTest - meanFake, wTrain: meanTrain - meanFake };
  };
}

/** The K critic updates; keeps the training curve and the estimates asked for at intermediate steps. */
function trainCritic(
  critic: LayersModel,
  opts: IndependentCriticOptions,
  o: CriticSettings,
  shape: ImageShape,
  rng: Rng,
  estimate: (step: number) => Estimate,
): { curve: CriticCurvePoint[]; estimates: Estimate[] } {
  const curveEvery = o.curveEvery ?? Math.max(1, Math.floor(o.steps / 200));
  const curve: CriticCurvePoint[] = [];
  const estimateAt = new Set((opts.estimateAt ?? []).filter((k) => k < o.steps));
  const estimates: Estimate[] = [];
  const realBatches = shuffledBatches(opts.train, Math.min(o.batchSize, opts.train.size), rng.seed());
  const optimizer = tf.train.adam(o.lr, o.beta1, o.beta2);
  const vars = critic.trainableWeights.map((w) => w.read() as Variable);
  try {
    for (let step = 1; step <= o.steps; step++) {
      const next = realBatches.next();
      if (next.done) {
        throw new Error(`independentCritic: the batch stream of split '${opts.train.name}' ended at step ${step}`);
      }
      const real = next.value;
      const fake = opts.sample(real.shape[0], rng.seed());
      assertImages(fake, shape, 'sample(n, seed)');
      const eps = tf.randomUniform([real.shape[0], 1, 1, 1], 0, 1, 'float32', rng.seed());
      const update = wganGpUpdate(critic, optimizer, vars, { real, fake, eps }, o.gpLambda);
      if (step % curveEvery === 0 || step === o.steps || step === 1) {
        const point = curvePoint(step, update);
        curve.push(point);
        opts.onProgress?.({ step, steps: o.steps, loss: point.loss, w: point.w });
      }
      tf.dispose([real, fake, eps, update.loss, update.w, update.gp]);
      if (estimateAt.has(step)) estimates.push(estimate(step));
    }
    return { curve, estimates };
  } finally {
    optimizer.dispose();
  }
}

/** The tensors of one critic update, kept for the curve; the caller disposes them. */
interface CriticUpdate {
  loss: Scalar;
  /** mean f(real) − mean f(fake) on the batch */
  w: Tensor;
  /** the gradient-penalty term (before λ) */
  gp: Tensor;
}

/** One WGAN-GP critic step on (real, fake), ε the per-example interpolation weights. */
function wganGpUpdate(
  critic: LayersModel,
  optimizer: Optimizer,
  vars: Variable[],
  batch: { real: Tensor; fake: Tensor; eps: Tensor },
  gpLambda: number,
): CriticUpdate {
  const { real, fake, eps } = batch;
  const fOf = (x: Tensor): Tensor => critic.apply(x, { training: true }) as Tensor;
  let w: Tensor | undefined;
  let gp: Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const fReal = fOf(real).mean();
    const fFake = fOf(fake).mean();
    const xHat = real.add(eps.mul(fake.sub(real)));
    // ∇_x̂ f(x̂) per example: the sum over the batch decouples the examples (no batch norm)
    const gradX = tf.grad((x: Tensor) => fOf(x).sum())(xHat);
    // ε inside the root keeps the penalty's own gradient finite where ∇f = 0
    const norm = gradX.square().sum([1, 2, 3]).add(1e-12).sqrt();
    const penalty = norm.sub(1).square().mean();
    w = tf.keep(fReal.sub(fFake));
    gp = tf.keep(penalty);
    return fFake.sub(fReal).add(penalty.mul(gpLambda)) as Scalar;
  }, vars);
  optimizer.applyGradients(grads as unknown as Record<string, Variable>);
  tf.dispose(Object.values(grads));
  return { loss: value, w: w!, gp: gp! };
}

/** Reads one update's numbers back; a non-finite loss stops the run. */
function curvePoint(step: number, update: CriticUpdate): CriticCurvePoint {
  const loss = update.loss.dataSync()[0];
  const w = update.w.dataSync()[0];
  if (!Number.isFinite(loss)) throw new Error(`independentCritic: the critic loss became ${loss} at step ${step}`);
  return { step, loss, w, gp: update.gp.dataSync()[0] };
}

/**
 * Glorot-uniform kernels and zero biases drawn from `seed`: a critic builder whose layers have unseeded
 * initializers calls this so that the same `spec.seed` gives the same critic.
 */
export function seedWeights(model: LayersModel, seed: number): void {
  const rng = createRng(seed);
  for (const w of model.trainableWeights) {
    const shape = w.shape as number[];
    if (shape.length < 2) {
      const v = tf.zeros(shape);
      w.write(v);
      v.dispose();
      continue;
    }
    const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const fanIn = receptive * shape[shape.length - 2];
    const fanOut = receptive * shape[shape.length - 1];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const v = tf.randomUniform(shape, -limit, limit, 'float32', rng.seed());
    w.write(v);
    v.dispose();
  }
}

function assertSingleOutput(model: LayersModel, shape: [number, number, number]): void {
  const out = tf.tidy(() => model.predict(tf.zeros([2, ...shape])) as Tensor);
  const ok = out.rank === 2 && out.shape[0] === 2 && out.shape[1] === 1;
  const got = out.shape;
  out.dispose();
  if (!ok) throw new Error(`independentCritic: the critic must output [N, 1] scores; it output ${JSON.stringify(got)}`);
}

function assertImages(x: Tensor, shape: [number, number, number], what: string): void {
  if (x.rank !== 4 || x.shape[1] !== shape[0] || x.shape[2] !== shape[1] || x.shape[3] !== shape[2]) {
    throw new Error(
      `independentCritic: ${what} returned shape ${JSON.stringify(x.shape)}; expected [n, ${shape.join(', ')}]`,
    );
  }
}

/** Mean critic value over n images, summed in float64 across batches. */
function meanOver(critic: LayersModel, n: number, batchAt: (start: number, count: number) => Tensor4D): number {
  let total = 0;
  for (let start = 0; start < n; start += EVAL_BATCH) {
    const count = Math.min(EVAL_BATCH, n - start);
    const x = batchAt(start, count);
    const f = tf.tidy(() => (critic.predict(x, { batchSize: x.shape[0] }) as Tensor).reshape([-1]));
    for (const v of f.dataSync()) total += v;
    tf.dispose([x, f]);
  }
  return total / n;
}

function meanCriticOnSplit(critic: LayersModel, split: ImageSplit, n: number, seed: number): number {
  // a seeded subset without replacement (n ≤ size here)
  const order = drawIndices(split.size, n, seed);
  return meanOver(critic, n, (start, count) => {
    const b = split.batch(order.subarray(start, start + count), seed);
    b.y?.dispose();
    return b.x;
  });
}

function meanCriticOnSamples(
  critic: LayersModel,
  sample: ImageSampler,
  n: number,
  seed: number,
  shape: [number, number, number],
): number {
  const rng = createRng(seed);
  return meanOver(critic, n, (_start, count) => {
    const x = sample(count, rng.seed());
    assertImages(x, shape, 'sample(n, seed)');
    return x;
  });
}
