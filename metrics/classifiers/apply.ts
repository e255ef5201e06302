/**
 * Running a classifier over many images in bounded memory: images come from a source function that renders a
 * chunk on demand, so 50,000 generated images never sit in memory at once.
 */
import type { Tensor2D } from '@tensorflow/tfjs-node';
import type { ImageSource } from '../sources.js';
import type { Classifier } from './types.js';

export type { ImageSource } from '../sources.js';

export interface ClassifierOutputs {
  /** n × numClasses, row-major */
  probs?: { data: Float32Array; shape: [number, number] };
  /** n × D, row-major */
  features?: { data: Float32Array; shape: [number, number] };
}

/** Class probabilities and/or features of n images, computed `batchSize` images at a time. */
export function classifyInBatches(
  classifier: Classifier,
  source: ImageSource,
  n: number,
  want: { probs?: boolean; features?: boolean },
  batchSize = 100,
): ClassifierOutputs {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`classifyInBatches: n must be a positive integer; got ${n}`);
  const probs: Float32Array[] = [];
  const feats: Float32Array[] = [];
  let pCols = 0;
  let fCols = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const x = source(start, count);
    if (x.shape[0] !== count) {
      x.dispose();
      throw new Error(`classifyInBatches: the image source returned ${x.shape[0]} images for a request of ${count}`);
    }
    if (want.probs) {
      const p: Tensor2D = classifier.predictProbs(x);
      pCols = p.shape[1];
      probs.push(p.dataSync() as Float32Array);
      p.dispose();
    }
    if (want.features) {
      const f: Tensor2D = classifier.features(x);
      fCols = f.shape[1];
      feats.push(f.dataSync() as Float32Array);
      f.dispose();
    }
    x.dispose();
  }
  const join = (parts: Float32Array[], cols: number) => {
    const data = new Float32Array(n * cols);
    let off = 0;
    for (const p of parts) {
      data.set(p, off);
      off += p.length;
    }
    return { data, shape: [n, cols] as [number, number] };
  };
  return {
    ...(want.probs ? { probs: join(probs, pCols) } : {}),
    ...(want.features ? { features: join(feats, fCols) } : {}),
  };
}
