/**
 * A synthetic image set for fast tests: small enough for a tiny GAN to learn in a few hundred steps, with
 * statistics known in closed form so learning tests can measure how close samples are.
 *
 * Generative process (resolution r, side s = round(r / 3): 9 px at 28, 11 at 32, 21 at 64), image by image
 * from createRng(seed), in this order of draws:
 *   k  ~ U{0..3}            colour index: 0 red (1,0,0), 1 green (0,1,0), 2 blue (0,0,1), 3 white (1,1,1)
 *   x0 ~ U{0..r−s}           left column of the square
 *   y0 ~ U{0..r−s}           top row of the square
 *   pixel (y, x, c) = +1 if y0 ≤ y < y0+s and x0 ≤ x < x0+s and colour k has channel c on; −1 otherwise
 *   (black background, one axis-aligned filled square, pixel values exactly ±1).
 * With channels = 1 every square is white (+1) and there are no labels; with 3 the label y = k.
 * Known statistics (see syntheticStatistics): fraction of 'on' pixels (any channel > 0) = s²/r²; each
 * channel is on for 2 of the 4 colours, so per-channel mean = −1 + 2 · ½ · s²/r² = −1 + s²/r²
 * (1-channel: −1 + 2 s²/r²); every image has exactly s² on pixels, all in one s × s square.
 *
 * Splits: images 0..80% train, next 10% validation, last 10% test (the images are i.i.d., so contiguous
 * ranges are as good as a permutation). Default size 2,048.
 */
import { createRng } from '../util/rng.js';
import type { SyntheticSpec } from './spec.js';
import { createSplit, range, uint8Renderer } from './split.js';
import type { Dataset, SplitName } from './types.js';

export const SYNTHETIC_COLORS: readonly (readonly [number, number, number])[] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
  [1, 1, 1],
];

export interface SyntheticStatistics {
  /** side of the square in pixels */
  side: number;
  /** expected fraction of pixels with any channel > 0 (exact for every image) */
  onFraction: number;
  /** expected mean of each channel in [-1, 1] */
  channelMean: number[];
}

export function syntheticSide(resolution: number): number {
  return Math.round(resolution / 3);
}

export function syntheticStatistics(resolution: number, channels: 1 | 3 = 3): SyntheticStatistics {
  const side = syntheticSide(resolution);
  const f = (side * side) / (resolution * resolution);
  const pOn = channels === 1 ? 1 : 0.5;
  return { side, onFraction: f, channelMean: Array.from({ length: channels }, () => -1 + 2 * pOn * f) };
}

export function loadSynthetic(spec: SyntheticSpec): Dataset {
  const r = spec.resolution;
  const channels = spec.channels ?? 3;
  const n = spec.size ?? 2048;
  const seed = spec.seed ?? 0;
  const s = syntheticSide(r);
  const rowBytes = r * r * channels;
  const pixels = new Uint8Array(n * rowBytes);
  const labels = new Uint8Array(n);
  const rng = createRng(seed);
  for (let i = 0; i < n; i++) {
    const k = rng.int(4);
    const x0 = rng.int(r - s + 1);
    const y0 = rng.int(r - s + 1);
    labels[i] = channels === 3 ? k : 0;
    const colour = channels === 3 ? SYNTHETIC_COLORS[k] : [1];
    for (let y = y0; y < y0 + s; y++) {
      for (let x = x0; x < x0 + s; x++) {
        const p = i * rowBytes + (y * r + x) * channels;
        for (let c = 0; c < channels; c++) if (colour[c]) pixels[p + c] = 255;
      }
    }
  }
  const nVal = Math.max(1, Math.round(n / 10));
  const nTrain = n - 2 * nVal;
  const rows: Record<SplitName, Int32Array> = {
    train: range(0, nTrain),
    validation: range(nTrain, nTrain + nVal),
    test: range(nTrain + nVal, n),
  };
  const shape = [r, r, channels] as const;
  const hasLabels = channels === 3;
  const split = (name: SplitName) =>
    createSplit({
      name,
      size: rows[name].length,
      shape,
      hasLabels,
      render: uint8Renderer(pixels, rowBytes, rows[name], hasLabels ? labels : null),
    });
  return {
    name: 'synthetic',
    shape,
    numClasses: hasLabels ? 4 : null,
    train: split('train'),
    validation: split('validation'),
    test: split('test'),
    source: `synthetic squares ${r}×${r}×${channels}, ${n} images, side ${s}, seed ${seed}`,
  };
}
