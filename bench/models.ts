/**
 * Training-step time of ganstudy's four models on the native backend (createModel, default hyperparameters and
 * architectures), measured the way bench/torch_models.py measures PyTorch: warm-up steps, then the median of N
 * timed trainStep calls on a real batch that already lives in the backend (data loading is not part of a step;
 * its cost is measured separately by `conversionMs`).
 */
import { tf } from '../src/backend/index.js';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { createModel, defaultArchitecture, defaultHyperparameters, realRowsPerStep } from '../src/models/index.js';
import type { ArchitectureConfig, GanModel, ModelHyperparameters, ModelName, Resolution } from '../src/models/types.js';

export interface ModelCase {
  model: ModelName;
  arch: ArchitectureConfig;
  hp: ModelHyperparameters;
  /** rows of real data handed to one trainStep (realRowsPerStep: one batch per sub-update that sees data) */
  rows: number;
}

export interface ModelTiming {
  model: ModelName;
  resolution: Resolution;
  msPerStep: number;
  msMin: number;
  timesMs: number[];
  /** trainable parameters per network (same keys as the PyTorch side: G, D, E, C) */
  params: Record<string, number>;
  finite: boolean;
}

export function benchCases(resolutions: readonly Resolution[], models: readonly ModelName[]): ModelCase[] {
  const out: ModelCase[] = [];
  for (const resolution of resolutions) {
    for (const model of models) {
      const hp = defaultHyperparameters(model);
      out.push({ model, arch: defaultArchitecture(resolution, 3), hp, rows: realRowsPerStep({ model, hp }) });
    }
  }
  return out;
}

type Networks = Record<string, { trainableWeights: { shape: readonly (number | null)[] }[] }>;

/** Parameter counts of the model's networks (BaseGan keeps them in a protected `networks` map). */
export function parameterCounts(model: GanModel): Record<string, number> {
  const nets = (model as unknown as { networks?: Networks }).networks ?? {};
  const out: Record<string, number> = {};
  for (const [k, net] of Object.entries(nets)) {
    out[k] = net.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
  }
  return out;
}

/**
 * Warm-up steps, then timed steps: at least `minSteps`, more (up to `maxSteps`) while the timed total is below
 * `targetMs`, so cheap cases get a stable median and expensive ones (WGAN-GP 64×64) keep the run short; a case
 * whose warm-up step alone took longer than `targetMs` is timed once.
 */
export function timeModel(
  c: ModelCase,
  opts: { warmup: number; minSteps: number; maxSteps: number; targetMs: number; seed?: number },
): ModelTiming {
  const model = createModel({ model: c.model, arch: c.arch, hp: c.hp, seed: opts.seed ?? 1 });
  const r = c.arch.resolution;
  const real = tf.randomUniform([c.rows, r, r, c.arch.channels], -1, 1, 'float32', 7) as Tensor4D;
  let losses: Record<string, number> = {};
  const w0 = performance.now();
  for (let i = 0; i < opts.warmup; i++) losses = model.trainStep(real);
  // a case whose warm-up alone exceeds the time target gets a single timed step (keeps a full run short)
  const minSteps = opts.warmup > 0 && performance.now() - w0 > opts.targetMs * opts.warmup ? 1 : opts.minSteps;
  const times: number[] = [];
  let total = 0;
  while (times.length < minSteps || (times.length < opts.maxSteps && total < opts.targetMs)) {
    const t0 = performance.now();
    losses = model.trainStep(real);
    times.push(performance.now() - t0);
    total += times[times.length - 1]!;
  }
  const out: ModelTiming = {
    model: c.model,
    resolution: r,
    msPerStep: median(times),
    msMin: Math.min(...times),
    timesMs: times,
    params: parameterCounts(model),
    finite: Object.values(losses).every((v) => Number.isFinite(v)),
  };
  real.dispose();
  model.dispose();
  return out;
}

/**
 * Per-kernel time of `steps` trainStep calls (tf.profile; tfjs-node runs kernels synchronously, so each kernel's
 * wall time is its own). Returns the kernels sorted by total time.
 */
export async function profileModel(c: ModelCase, steps = 1): Promise<{ kernel: string; ms: number; calls: number }[]> {
  const model = createModel({ model: c.model, arch: c.arch, hp: c.hp, seed: 1 });
  const r = c.arch.resolution;
  const real = tf.randomUniform([c.rows, r, r, c.arch.channels], -1, 1, 'float32', 7) as Tensor4D;
  model.trainStep(real); // warm-up
  const info = await tf.profile(() => {
    for (let i = 0; i < steps; i++) model.trainStep(real);
  });
  const agg = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // 'xxx__op' entries wrap the kernels they run (counted on their own): skip them to avoid double counting
    if (k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += ms;
    a.calls += 1;
    agg.set(k.name, a);
  }
  real.dispose();
  model.dispose();
  return [...agg.entries()]
    .map(([kernel, a]) => ({ kernel, ms: a.ms / steps, calls: a.calls / steps }))
    .sort((x, y) => y.ms - x.ms);
}

/**
 * Cost of turning one host batch (Float32Array, as the data loader yields it) into a backend tensor that an op
 * has consumed (tfjs-node hands the bytes to TensorFlow lazily, on first use), and of reading a batch back.
 */
export function conversionMs(resolution: Resolution, rows = 64): { toTensorMs: number; dataSyncMs: number } {
  const data = new Float32Array(rows * resolution * resolution * 3).map((_, i) => (i % 255) / 127.5 - 1);
  const reps = 20;
  const t = tf.tensor4d(data, [rows, resolution, resolution, 3]);
  const use = (x: Tensor4D) => tf.tidy(() => tf.sum(x).dataSync()[0]);
  use(t);
  let t0 = performance.now();
  for (let i = 0; i < reps; i++) use(t);
  const useOnly = (performance.now() - t0) / reps;
  t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const x = tf.tensor4d(data, [rows, resolution, resolution, 3]);
    use(x);
    x.dispose();
  }
  const toTensorMs = Math.max(0, (performance.now() - t0) / reps - useOnly);
  t0 = performance.now();
  for (let i = 0; i < reps; i++) tf.tidy(() => tf.add(t, 0).dataSync());
  const dataSyncMs = (performance.now() - t0) / reps;
  t.dispose();
  return { toTensorMs, dataSyncMs };
}

/** Median wall time in ms of `reps` calls of `fn`, after `warmup` untimed calls. */
export function medianMs(fn: () => unknown, warmup: number, reps: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
