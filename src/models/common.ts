/**
 * Helpers the four models share: seeded randomness per step, Adam optimizers over a network's variables,
 * one gradient step with auxiliary loss values. The model base is base-gan.ts, the checkpoint format checkpoint.ts.
 */
import { tf } from '../backend/index.js';
import type { Scalar, Tensor, Tensor2D, Variable, NamedTensorMap } from '@tensorflow/tfjs-node';

export type NamedVariableMap = Parameters<Optimizer['applyGradients']>[0];
import { l2Normalize } from './losses.js';
import type { Losses } from './types.js';

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
  const f = tf.customGrad(((t: Tensor) => ({
    value: tf.clone(t),
    gradFunc: (dy: Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
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

/**
 * Runs `pass` (a training-mode forward pass of `model`), then restores `model`'s non-trainable weights — the batch
 * norm moving statistics, which tfjs updates on every training-mode call — to their values before it. Works from
 * the layers' non-trainable weights, so it holds for any normalisation layer that keeps its statistics there.
 */
export function keepingMovingStatistics<T>(model: LayersModel, pass: () => T): T {
  const saved = model.nonTrainableWeights.map((w) => tf.clone(w.read()));
  const out = pass();
  // write() makes the variable share the clone's data (reference-counted), so disposing the clone is safe
  model.nonTrainableWeights.forEach((w, i) => w.write(saved[i]));
  tf.dispose(saved);
  return out;
}

/** A snapshot of a model's trainable weights (tests compare before / after a phase). */
export function snapshot(model: LayersModel): Float32Array[] {
  return trainableVariables(model)
    .map((v) => v.dataSync() as Float32Array)
    .map((a) => a.slice());
}
