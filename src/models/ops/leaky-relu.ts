/**
 * Leaky ReLU on TF's `LeakyRelu` / `LeakyReluGrad` kernels, twice differentiable.
 *
 * TF.js's own LeakyRelu gradient is composed of `greater`, `where` and `mul` (3+ kernels over the activation),
 * and `greater` has no gradient, so the WGAN-GP penalty (a gradient of a gradient) cannot go through it; the
 * models therefore used a leaky ReLU written with `abs` there (networks.ts SmoothGradLeakyReLU, 5 kernels
 * forward). Here the forward pass is one kernel, its gradient is one kernel, and the gradient of the gradient
 * is again one kernel: LeakyReluGrad(dy, x) = dy ⊙ (x > 0 ? 1 : α) is linear in dy, so its derivative w.r.t.
 * dy is LeakyReluGrad(ddy, x); its derivative w.r.t. x is zero almost everywhere (as for abs).
 */
import { tf } from '../../backend/index.js';
import type { Tensor, layers } from '@tensorflow/tfjs-node';
import { NATIVE_BACKEND, attr, registeredLayerClass, runNativeOp } from './native.js';

const FORWARD = 'GanstudyLeakyRelu';
const GRAD = 'GanstudyLeakyReluGrad';

function alphaOf(attrs: unknown): number {
  return (attrs as { alpha: number }).alpha;
}

tf.registerKernel({
  kernelName: FORWARD,
  backendName: NATIVE_BACKEND,
  kernelFunc: ({ inputs, attrs }) => {
    const x = inputs.x as Tensor;
    return runNativeOp('LeakyRelu', [attr.float('alpha', alphaOf(attrs)), attr.float32Type('T')], [x], 1)[0]!;
  },
});

tf.registerKernel({
  kernelName: GRAD,
  backendName: NATIVE_BACKEND,
  kernelFunc: ({ inputs, attrs }) => {
    const { dy, x } = inputs as { dy: Tensor; x: Tensor };
    return runNativeOp('LeakyReluGrad', [attr.float('alpha', alphaOf(attrs)), attr.float32Type('T')], [dy, x], 1)[0]!;
  },
});

/** dy ⊙ (x > 0 ? 1 : α) in one kernel */
function leakyReluGrad(dy: Tensor, x: Tensor, alpha: number): Tensor {
  return tf.engine().runKernel(GRAD, { dy, x }, { alpha }) as Tensor;
}

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [Tensor];
    return { x: () => leakyReluGrad(dy as Tensor, x, alphaOf(attrs)) };
  },
});

tf.registerGradient({
  kernelName: GRAD,
  inputsToSave: ['x'],
  gradFunc: (ddy, saved, attrs) => {
    const [x] = saved as [Tensor];
    return { dy: () => leakyReluGrad(ddy as Tensor, x, alphaOf(attrs)), x: () => tf.zerosLike(x) };
  },
});

/** max(x, αx) for 0 < α < 1, on the native backend only (see fusedOpsEnabled) */
export function fusedLeakyRelu<T extends Tensor>(x: T, alpha: number): T {
  return tf.engine().runKernel(FORWARD, { x }, { alpha }) as T;
}

type Layer = layers.Layer;
type LeakyReLUClass = new (args: { alpha: number }) => Layer;

const LeakyReLUBase = registeredLayerClass<LeakyReLUClass>('LeakyReLU');

/**
 * tf.layers.leakyReLU on the fused kernels above (usable under double backprop). Same class name and
 * serialized form as the TF.js layer, so a saved model reloads as a plain LeakyReLU.
 */
export class FusedLeakyReLU extends LeakyReLUBase {
  override call(inputs: Tensor | Tensor[]): Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return fusedLeakyRelu(x, (this as unknown as { alpha: number }).alpha);
  }
}
