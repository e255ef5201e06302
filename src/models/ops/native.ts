/**
 * Running a TensorFlow op by name on the native backend, and the switch between TF's fused kernels
 * (src/models/ops/*.ts) and the TF.js compositions they replace.
 *
 * The fused ops are registered as TF.js kernels of their own (kernel names prefixed `Ganstudy`), so they
 * run through the engine like any other op: the tape records them (with gradients registered beside them),
 * tidy scopes own their outputs and tf.profile lists them by name. They exist only on the native backend;
 * elsewhere (the pure-JS fallback) the composed versions run.
 */
import { tf } from '../../backend/index.js';
import type { Tensor } from '@tensorflow/tfjs-node';

/** what a TF eager op attribute looks like to tfjs-node's binding */
export interface NativeAttr {
  name: string;
  type: number;
  value: number | string | boolean;
}

interface NativeBackend {
  binding: {
    TF_ATTR_TYPE: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_STRING: number;
    TF_FLOAT: number;
  };
  executeMultipleOutputs(name: string, attrs: NativeAttr[], inputs: Tensor[], numOutputs: number): Tensor[];
}

export const NATIVE_BACKEND = 'tensorflow';

export function nativeBackend(): NativeBackend {
  return tf.findBackend(NATIVE_BACKEND) as unknown as NativeBackend;
}

/** attribute builders for float32 ops (the only dtype the models train in) */
export const attr = {
  float32Type: (name: string): NativeAttr => {
    const b = nativeBackend().binding;
    return { name, type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
  },
  float: (name: string, value: number): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_FLOAT, value }),
  bool: (name: string, value: boolean): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_BOOL, value }),
  string: (name: string, value: string): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_STRING, value }),
};

/** Execute TensorFlow op `name` eagerly; inputs must live on the native backend. */
export function runNativeOp(name: string, attrs: NativeAttr[], inputs: Tensor[], numOutputs: number): Tensor[] {
  return nativeBackend().executeMultipleOutputs(name, attrs, inputs, numOutputs);
}

let enabled = process.env.GANSTUDY_FUSED_OPS !== '0';

/**
 * Whether networks built from now on use the fused kernels: on by default on the native backend;
 * GANSTUDY_FUSED_OPS=0 or setFusedOps(false) selects the TF.js compositions (tests compare the two).
 */
export function fusedOpsEnabled(): boolean {
  return enabled && tf.getBackend() === NATIVE_BACKEND;
}

export function setFusedOps(on: boolean): void {
  enabled = on;
}

/**
 * A tfjs-layers layer class by its registered name: tfjs-layers does not export the classes themselves (LeakyReLU,
 * ReLU, BatchNormalization), only their serialization registry holds them. The fused layers extend these so that
 * they keep the class name, weights and serialized form of the TF.js layer.
 */
export function registeredLayerClass<C>(className: string): C {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`tfjs-layers ${className} is not registered`);
  return entry[0] as unknown as C;
}
