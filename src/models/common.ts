/**
 * What the four models share: seeded randomness per step, Adam optimizers over a network's variables,
 * one gradient step with auxiliary loss values, and saving / loading every weight and optimizer slot.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend/index.js';
import type { Scalar, Tensor, Tensor2D, Tensor4D, Variable, NamedTensorMap } from '@tensorflow/tfjs-node';

export type NamedVariableMap = Parameters<Optimizer['applyGradients']>[0];
import { createRng, type Rng } from '../util/rng.js';
import { l2Normalize } from './losses.js';
import type { GanModel, Losses, ModelConfig } from './types.js';

export type LayersModel = ReturnType<typeof tf.sequential>;
export type Optimizer = ReturnType<typeof tf.train.adam>;

/** The tf.Variables behind a layers model's trainable weights (in the model's fixed order). */
export function trainableVariables(model: LayersModel): Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { read(): Variable }).read());
}

/** Adam with PyTorch's ε (1e-8) so that the same hyperparameters mean the same thing as the reference code. */
export function adam(lr: number, beta1: number, beta2: number): Optimizer {
  return tf.train.adam(lr, beta1, beta2, 1e-8);
}

/** 32-bit mix of (seed, step, stream): independent, reproducible streams per step. */
export function stepSeed(seed: number, step: number, stream: number): number {
  let h = Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77) ^ Math.imul(stream + 1, 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Identity whose gradient is zero: tfjs has no stop_gradient op. */
export function stopGradient<T extends Tensor>(x: T): T {
  const f = tf.customGrad(((t: Tensor) => ({ value: tf.clone(t), gradFunc: (dy: Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

export function normalLatent(n: number, zDim: number, seed: number, sphere: boolean): Tensor2D {
  return tf.tidy(() => {
    const z = tf.randomNormal([n, zDim], 0, 1, 'float32', seed) as Tensor2D;
    return sphere ? l2Normalize(z) : z;
  });
}

/**
 * One optimizer step: gradients of `loss` (which may also return named auxiliary scalars) w.r.t. `vars`,
 * applied by `opt`. Returns the loss and auxiliaries as numbers. Variables that receive no gradient are an
 * error: Adam pairs its slots with variables by position, so a silently skipped variable would shift them.
 */
export function optimizerStep(
  opt: Optimizer,
  vars: Variable[],
  loss: () => { loss: Scalar; aux?: Record<string, Scalar> },
): Losses {
  const kept: Record<string, Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = loss();
    for (const [k, v] of Object.entries(r.aux ?? {})) kept[k] = tf.keep(v);
    return r.loss;
  }, vars);
  if (Object.keys(grads).length !== vars.length) {
    throw new Error(`optimizerStep: ${vars.length - Object.keys(grads).length} variable(s) got no gradient`);
  }
  opt.applyGradients(grads as NamedVariableMap);
  const out: Losses = { loss: value.dataSync()[0] };
  for (const [k, v] of Object.entries(kept)) {
    out[k] = v.dataSync()[0];
    v.dispose();
  }
  value.dispose();
  tf.dispose(grads);
  return out;
}

/** Split `grads` (keyed by variable name) into the optimizer-specific maps, preserving variable order. */
export function pickGrads(grads: NamedTensorMap, vars: Variable[]): NamedVariableMap {
  const out: Record<string, Tensor> = {};
  for (const v of vars) {
    const g = grads[v.name];
    if (g === undefined) throw new Error(`no gradient for variable ${v.name}`);
    out[v.name] = g;
  }
  return out as NamedVariableMap;
}

/** A snapshot of a model's trainable weights (tests compare before / after a phase). */
export function snapshot(model: LayersModel): Float32Array[] {
  return trainableVariables(model).map((v) => v.dataSync() as Float32Array).map((a) => a.slice());
}

interface ManifestEntry {
  part: string;
  index: number;
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number;
  length: number;
}
interface Manifest {
  format: 'ganstudy-model-v1';
  model: string;
  arch: unknown;
  seed: number;
  step: number;
  entries: ManifestEntry[];
}

const MANIFEST = 'model.json';
const WEIGHTS = 'weights.bin';

/**
 * Base class: owns the step counter (the only state besides weights and optimizer slots, since all
 * randomness of step k is derived from (config.seed, k)), and implements save / load for any set of
 * named networks and optimizers.
 */
export abstract class BaseGan implements GanModel {
  /** number of completed trainStep calls */
  step = 0;
  protected abstract readonly networks: Record<string, LayersModel>;
  protected abstract readonly optimizers: Record<string, Optimizer>;
  protected abstract readonly generator: LayersModel;
  protected readonly sphere: boolean = false;

  constructor(readonly config: ModelConfig) {}

  abstract trainStep(real: Tensor4D): Losses;

  /** Randomness for the current step: stream `s` of step `this.step`. */
  protected rngForStep(): Rng {
    return createRng(stepSeed(this.config.seed, this.step, 0));
  }

  /** real-batch slice for sub-update i: a batch of k·B rows feeds k distinct slices of B, else the whole batch */
  protected realSlice(real: Tensor4D, i: number): Tensor4D {
    const b = this.sliceSize(real);
    if (b === real.shape[0]) return real;
    const k = real.shape[0] / b;
    return tf.slice(real, [(i % k) * b, 0, 0, 0], [b, -1, -1, -1]);
  }

  /** rows per sub-update: hp.batchSize when `real` holds several whole batches, else all of `real` */
  protected sliceSize(real: Tensor4D): number {
    const b = this.config.hp.batchSize;
    const n = real.shape[0];
    return n >= 2 * b && n % b === 0 ? b : n;
  }

  protected latent(n: number, rng: Rng): Tensor2D {
    return normalLatent(n, this.config.arch.zDim, rng.seed(), this.sphere);
  }

  generate(z: Tensor2D): Tensor4D {
    return tf.tidy(() => this.generator.apply(z, { training: false }) as Tensor4D);
  }

  /** z for all n is drawn at once (so a seed means the same images for any n' ≤ n prefix), G runs in chunks */
  sample(n: number, seed: number): Tensor4D {
    const z = normalLatent(n, this.config.arch.zDim, seed, this.sphere);
    const chunk = 512;
    if (n <= chunk) {
      const out = this.generate(z);
      z.dispose();
      return out;
    }
    const parts: Tensor4D[] = [];
    for (let i = 0; i < n; i += chunk) {
      parts.push(tf.tidy(() => this.generate(tf.slice(z, [i, 0], [Math.min(chunk, n - i), -1]))));
    }
    const out = tf.concat(parts) as Tensor4D;
    tf.dispose([z, ...parts]);
    return out;
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const entries: ManifestEntry[] = [];
    const chunks: Buffer[] = [];
    let offset = 0;
    const add = (part: string, index: number, name: string, t: Tensor) => {
      const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
      const data = dtype === 'int32' ? Int32Array.from(t.dataSync() as Int32Array) : Float32Array.from(t.dataSync() as Float32Array);
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      entries.push({ part, index, name, dtype, shape: t.shape.slice(), offset, length: buf.byteLength });
      chunks.push(buf);
      offset += buf.byteLength;
    };
    for (const [part, net] of Object.entries(this.networks)) {
      net.weights.forEach((w, i) => add(part, i, w.originalName, w.read()));
    }
    for (const [part, opt] of Object.entries(this.optimizers)) {
      const ws = await opt.getWeights();
      ws.forEach((w, i) => add(`opt:${part}`, i, w.name, w.tensor));
      // getWeights hands out the slot variables themselves (keep them) plus a fresh iteration-count scalar
      tf.dispose(ws.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
    }
    const manifest: Manifest = {
      format: 'ganstudy-model-v1',
      model: this.config.model,
      arch: this.config.arch,
      seed: this.config.seed,
      step: this.step,
      entries,
    };
    await writeFile(path.join(dir, WEIGHTS), Buffer.concat(chunks));
    await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1));
  }

  async load(dir: string): Promise<void> {
    const manifestPath = path.join(dir, MANIFEST);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    } catch (e) {
      throw new Error(`cannot read checkpoint manifest ${manifestPath}: ${(e as Error).message}`);
    }
    if (manifest.format !== 'ganstudy-model-v1') throw new Error(`${manifestPath}: unknown format ${String(manifest.format)}`);
    if (manifest.model !== this.config.model) {
      throw new Error(`${manifestPath}: checkpoint is for model '${manifest.model}', this model is '${this.config.model}'`);
    }
    if (JSON.stringify(manifest.arch) !== JSON.stringify(this.config.arch)) {
      throw new Error(`${manifestPath}: checkpoint architecture ${JSON.stringify(manifest.arch)} differs from ${JSON.stringify(this.config.arch)}`);
    }
    const bin = await readFile(path.join(dir, WEIGHTS));
    const tensorOf = (e: ManifestEntry): Tensor => {
      const bytes = bin.subarray(e.offset, e.offset + e.length);
      const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      return e.dtype === 'int32' ? tf.tensor(new Int32Array(ab), e.shape, 'int32') : tf.tensor(new Float32Array(ab), e.shape, 'float32');
    };
    const byPart = new Map<string, ManifestEntry[]>();
    for (const e of manifest.entries) byPart.set(e.part, [...(byPart.get(e.part) ?? []), e]);
    for (const [part, net] of Object.entries(this.networks)) {
      const es = (byPart.get(part) ?? []).sort((a, b) => a.index - b.index);
      if (es.length !== net.weights.length) {
        throw new Error(`${manifestPath}: network '${part}' has ${es.length} weights in the checkpoint, ${net.weights.length} in the model`);
      }
      const ts = es.map(tensorOf);
      net.setWeights(ts);
      tf.dispose(ts);
    }
    for (const [part, opt] of Object.entries(this.optimizers)) {
      const es = (byPart.get(`opt:${part}`) ?? []).sort((a, b) => a.index - b.index);
      if (es.length === 0) throw new Error(`${manifestPath}: no optimizer state for '${part}'`);
      // setWeights takes ownership (wraps the tensors in new slot variables)
      await opt.setWeights(es.map((e) => ({ name: e.name, tensor: tensorOf(e) })));
    }
    this.step = manifest.step;
  }

  /** optimizer updates applied so far, per network (tests check the schedule with it) */
  updateCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, opt] of Object.entries(this.optimizers)) out[k] = opt.iterations;
    return out;
  }

  dispose(): void {
    for (const net of Object.values(this.networks)) net.dispose();
    for (const opt of Object.values(this.optimizers)) opt.dispose();
  }
}
