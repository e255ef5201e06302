/**
 * The zero gradients of comparison ops that the independent critic's gradient penalty needs. Nothing here runs at
 * import: `registerComparisonGradients()` is called where a critic is trained (independentCritic), and again is a
 * no-op, so importing metrics/ never changes TensorFlow's global gradient registry.
 */
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';

/** comparison kernels whose (zero almost everywhere) gradient TF.js may lack */
export const COMPARISON_KERNELS = ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual'] as const;

/**
 * The gradient penalty differentiates a gradient (double backprop). TF.js's LeakyRelu gradient is built from a
 * `Greater` mask, and TF.js registers no gradient for `Greater` (nor some other comparisons), so the second
 * backward pass fails with "gradient function not found for Greater". A comparison is piecewise constant: its
 * derivative is zero almost everywhere, which is what TF.js already registers for `GreaterEqual`. Registers
 * process-wide, only where TF.js has none, so calling it twice (or after another module did the same) is harmless.
 * Returns the kernels it registered on this call.
 */
export function registerComparisonGradients(): string[] {
  const added: string[] = [];
  for (const kernelName of COMPARISON_KERNELS) {
    if (tf.getGradient(kernelName) != null) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => {
        const [a, b] = saved as Tensor[];
        return { a: () => tf.zerosLike(a!), b: () => tf.zerosLike(b!) };
      },
    });
    added.push(kernelName);
  }
  return added;
}
