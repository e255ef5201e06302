/**
 * ReLU on TF's `Relu` / `ReluGrad` kernels, twice differentiable.
 *
 * TF.js's Relu gradient is dy ⊙ step(x), and tfjs-node runs `step` as IsNan, Greater, two Selects, a Fill and
 * a ones tensor: 8 kernels over the activation per ReLU per backward pass (the generator has three). ReluGrad
 * is one. Its gradient: ReluGrad(dy, x) is linear in dy, so d/d(dy) is ReluGrad(ddy, x); d/dx is zero almost
 * everywhere (as for TF.js's step).
 */
import { tf } from '../../backend/index.js';
import type { Tensor, layers } from '@tensorflow/tfjs-node';
import { NATIVE_BACKEND, attr, registeredLayerClass, runNativeOp } from './native.js';

const FORWARD = 'GanstudyRelu';
const GRAD = 'GanstudyReluGrad';

tf.registerKernel({
  kernelName: FORWARD,
  backendName: NATIVE_BACKEND,
  kernelFunc: ({ inputs }) => runNativeOp('Relu', [attr.float32Type('T')], [inputs.x as Tensor], 1)[0]!,
});

tf.registerKernel({
  kernelName: GRAD,
  backendName: NATIVE_BACKEND,
  kernelFunc: ({ inputs }) => {
    const { dy, x } = inputs as { dy: Tensor; x: Tensor };
    return runNativeOp('ReluGrad', [attr.float32Type('T')], [dy, x], 1)[0]!;
  },
});

/** dy ⊙ (x > 0) in one kernel */
function reluGrad(dy: Tensor, x: Tensor): Tensor {
  return tf.engine().runKernel(GRAD, { dy, x }, {}) as Tensor;
}

tf.registerGradient({
  kernelName: FORWARD,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [Tensor];
    return { x: () => reluGrad(dy as Tensor, x) };
  },
});

tf.registerGradient({
  kernelName: GRAD,
  inputsToSave: ['x'],
  gradFunc: (ddy, saved) => {
    const [x] = saved as [Tensor];
    return { dy: () => reluGrad(ddy as Tensor, x), x: () => tf.zerosLike(x) };
  },
});

/** max(x, 0), on the native backend only (see fusedOpsEnabled) */
export function fusedRelu<T extends Tensor>(x: T): T {
  return tf.engine().runKernel(FORWARD, { x }, {}) as T;
}

type Layer = layers.Layer;
type ReLUClass = new (args?: object) => Layer;

const ReLUBase = registeredLayerClass<ReLUClass>('ReLU');

/**
 * tf.layers.reLU (without maxValue) on the fused kernels above. Same class name and serialized form as the
 * TF.js layer, so a saved model reloads as a plain ReLU.
 */
export class FusedReLU extends ReLUBase {
  override call(inputs: Tensor | Tensor[]): Tensor {
    return fusedRelu(Array.isArray(inputs) ? inputs[0]! : inputs);
  }
}
