/**
 * Batch normalisation in training mode on TF's `FusedBatchNormV3` (one kernel: batch moments, normalisation,
 * scale and shift) with `FusedBatchNormGradV3` as its gradient (one kernel for dx, dγ and dβ).
 *
 * TF.js's BatchNormalization layer computes the batch moments with `moments` and its gradient from the
 * composed `batchNorm` gradient: dozens of Mul / Add / Sub / RealDiv / Sum kernels over the activation per
 * layer and step. The layer below keeps everything else of tf.layers.batchNormalization: the class name (so
 * layer and weight names are unchanged), the weights gamma, beta, moving_mean, moving_variance with their
 * shapes and trainable flags, inference mode, and the moving-average update with the biased batch variance.
 */
import { tf } from '../../backend/index.js';
import type { Tensor, layers } from '@tensorflow/tfjs-node';
import { NATIVE_BACKEND, attr, registeredLayerClass, runNativeOp, type NativeAttr } from './native.js';

const FORWARD = 'GanstudyFusedBatchNormTrain';
const GRAD = 'GanstudyFusedBatchNormGrad';

function commonAttrs(epsilon: number): NativeAttr[] {
  return [
    attr.float32Type('T'),
    attr.float32Type('U'),
    attr.float('epsilon', epsilon),
    attr.string('data_format', 'NHWC'),
    attr.bool('is_training', true),
  ];
}

function epsilonOf(attrs: unknown): number {
  return (attrs as { epsilon: number }).epsilon;
}

tf.registerKernel({
  kernelName: FORWARD,
  backendName: NATIVE_BACKEND,
  // outputs: y, batch mean, biased batch variance (TF's reserve spaces 1 and 2 on CPU), reserve space 3
  kernelFunc: ({ inputs, attrs }) =>
    tf.tidy(() => {
      const { x, scale, offset } = inputs as { x: Tensor; scale: Tensor; offset: Tensor };
      const none = tf.tensor1d([], 'float32');
      const a = [...commonAttrs(epsilonOf(attrs)), attr.float('exponential_avg_factor', 1)];
      const out = runNativeOp('FusedBatchNormV3', a, [x, scale, offset, none, none], 6);
      return [out[0]!, out[3]!, out[4]!, out[5]!];
    }),
});

tf.registerKernel({
  kernelName: GRAD,
  backendName: NATIVE_BACKEND,
  kernelFunc: ({ inputs, attrs }) =>
    tf.tidy(() => {
      const { dy, x, scale, mean, variance, reserve } = inputs as Record<string, Tensor>;
      const out = runNativeOp(
        'FusedBatchNormGradV3',
        commonAttrs(epsilonOf(attrs)),
        [dy!, x!, scale!, mean!, variance!, reserve!],
        5,
      );
      return [out[0]!, out[1]!, out[2]!];
    }),
});

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true, true],
  // The mean and variance outputs feed only the moving statistics, never a loss: their incoming gradients
  // (zeros) are ignored. No gradient is registered for GRAD: nothing differentiates twice through batch norm.
  gradFunc: (dys, saved, attrs) => {
    const [x, scale, mean, variance, reserve] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const dy = (dys as Tensor[])[0]!;
    // one kernel yields all three gradients, so it runs here rather than once per input in the tape's tidy
    const inputs = { dy, x, scale, mean, variance, reserve };
    const [dx, dScale, dOffset] = tf.engine().runKernel(GRAD, inputs, { epsilon: epsilonOf(attrs) }) as Tensor[];
    return { x: () => dx!, scale: () => dScale!, offset: () => dOffset! };
  },
});

export interface BatchNormTraining {
  y: Tensor;
  /** per-channel batch mean */
  mean: Tensor;
  /** per-channel biased batch variance (what tf.moments returns) */
  variance: Tensor;
}

/**
 * γ(x − μ_B)/√(σ²_B + ε) + β over all axes but the last, for rank-2 or rank-4 `x` (rank 2 runs as [N,1,1,C]).
 */
export function fusedBatchNormTraining(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number): BatchNormTraining {
  return tf.tidy(() => {
    const x4 = x.rank === 4 ? x : tf.reshape(x, [x.shape[0]!, 1, 1, x.shape[x.rank - 1]!]);
    const [y, mean, variance] = tf
      .engine()
      .runKernel(FORWARD, { x: x4, scale: gamma, offset: beta }, { epsilon }) as Tensor[];
    return { y: x.rank === 4 ? y! : tf.reshape(y!, x.shape), mean: mean!, variance: variance! };
  });
}

type Layer = layers.Layer;
type Kwargs = Record<string, unknown>;

/** the parts of tfjs-layers' BatchNormalization that the fused training path reads and writes */
interface BatchNormalizationFields {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly gamma: { read(): Tensor };
  readonly beta: { read(): Tensor };
  readonly movingMean: { read(): Tensor; write(t: Tensor): void };
  readonly movingVariance: { read(): Tensor; write(t: Tensor): void };
}

type BatchNormalizationClass = new (args: object) => Layer;

const BatchNormalizationBase = registeredLayerClass<BatchNormalizationClass>('BatchNormalization');

/**
 * tf.layers.batchNormalization whose training-mode call runs the fused kernels. Same class name, weights
 * and serialized form as the TF.js layer (a saved model reloads as a plain BatchNormalization).
 */
export class FusedBatchNormalization extends BatchNormalizationBase {
  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const self = this as unknown as BatchNormalizationFields;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    if (kwargs['training'] !== true || !lastAxis || (x.rank !== 2 && x.rank !== 4)) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = fusedBatchNormTraining(x, self.gamma.read(), self.beta.read(), self.epsilon);
      // exactly tfjs-layers' update: v ← v − (v − batch value)(1 − momentum)
      const decay = 1 - self.momentum;
      for (const [variable, value] of [
        [self.movingMean, mean],
        [self.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
        });
      }
      return y;
    });
  }
}
