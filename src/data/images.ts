/**
 * Images on disk ↔ tensors in [-1, 1]. The mapping is byte = clamp(round((x + 1) · 127.5), 0, 255)
 * (NaN → 0) and back x = byte / 127.5 − 1, so a PNG round trip is exact for values on that grid.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../backend/index.js';
import { decodeAll, defaultDecodeConcurrency, listImages } from './image-folder.js';
import { BYTE_TO_UNIT } from './split.js';

export function unitToByte(v: number): number {
  if (!(v > -1)) return 0; // also NaN
  const b = Math.round((v + 1) * 127.5);
  return Math.min(b, 255);
}

export interface GridOptions {
  /** images per row (default ceil(sqrt(n))) */
  cols?: number;
  /** pixels between and around images (default 2, as torchvision's make_grid) */
  padding?: number;
  /** grey level of the padding, 0..255 (default 0: black) */
  padValue?: number;
}

/** Pixel size of the grid saveImageGrid writes for n images of h × w. */
export function gridSize(
  n: number,
  h: number,
  w: number,
  opts: GridOptions = {},
): { width: number; height: number; cols: number; rows: number } {
  const cols = Math.max(1, Math.min(n, opts.cols ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.max(1, Math.ceil(n / cols));
  const pad = opts.padding ?? 2;
  return { width: cols * (w + pad) + pad, height: rows * (h + pad) + pad, cols, rows };
}

function checkImages(x: Tensor4D, what: string): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${what}: expected a 4-D NHWC tensor, got shape [${x.shape.join(', ')}]`);
  const [n, h, w, c] = x.shape;
  if (c !== 1 && c !== 3)
    throw new Error(`${what}: expected 1 or 3 channels, got ${c} (shape [${x.shape.join(', ')}])`);
  return [n, h, w, c];
}

/** Write a grid of images (NHWC in [-1, 1], 1 or 3 channels) as one PNG. */
export async function saveImageGrid(x: Tensor4D, file: string, opts: GridOptions = {}): Promise<void> {
  const [n, h, w, c] = checkImages(x, 'saveImageGrid');
  if (n === 0) throw new Error('saveImageGrid: no images to save');
  const { width, height, cols } = gridSize(n, h, w, opts);
  const pad = opts.padding ?? 2;
  const data = x.dataSync();
  const out = Buffer.alloc(width * height * c, opts.padValue ?? 0);
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % cols) * (w + pad);
    const oy = pad + Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      const src = (i * h + y) * w * c;
      const dst = ((oy + y) * width + ox) * c;
      for (let k = 0; k < w * c; k++) out[dst + k] = unitToByte(data[src + k]);
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  await sharp(out, { raw: { width, height, channels: c as 1 | 3 } })
    .png()
    .toFile(file);
}

/** Write one PNG per image, `<prefix>-00000.png`, …; returns the paths in order. */
export async function writeImages(x: Tensor4D, dir: string, prefix = 'image'): Promise<string[]> {
  const [n, h, w, c] = checkImages(x, 'writeImages');
  fs.mkdirSync(dir, { recursive: true });
  const data = x.dataSync();
  const per = h * w * c;
  const digits = Math.max(5, String(n - 1).length);
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const buf = Buffer.alloc(per);
    for (let k = 0; k < per; k++) buf[k] = unitToByte(data[i * per + k]);
    const p = path.join(dir, `${prefix}-${String(i).padStart(digits, '0')}.png`);
    await sharp(buf, { raw: { width: w, height: h, channels: c as 1 | 3 } })
      .png()
      .toFile(p);
    paths.push(p);
  }
  return paths;
}

/**
 * All images under `dir` (sorted by path, first `limit`), centre-cropped to squares and resized to
 * size × size × 3, as one tensor in [-1, 1]. No cache: for datasets use loadDataset({name: 'folder'}).
 */
export async function readImageFolder(
  dir: string,
  opts: { size: number; limit?: number; concurrency?: number },
): Promise<Tensor4D> {
  let files = listImages(dir);
  if (opts.limit !== undefined) files = files.slice(0, opts.limit);
  const bytes = await decodeAll(dir, files, opts.size, 'centre', opts.concurrency ?? defaultDecodeConcurrency());
  const f = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) f[i] = BYTE_TO_UNIT[bytes[i]];
  return tf.tensor4d(f, [files.length, opts.size, opts.size, 3], 'float32');
}
