/**
 * Image folders (decode, crop, resize, decoded cache, errors), PNG grids and image I/O, the synthetic
 * set's stated statistics, and the spec schema. All image files are written here with sharp.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { DatasetSpecSchema, loadDataset, parseDatasetSpec, syntheticStatistics } from '../src/data/index.js';
import type { Batch, DatasetSplit } from '../src/data/index.js';
import { gridSize, readImageFolder, saveImageGrid, writeImages } from '../src/data/images.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ganstudy-data-img-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Rgb = [number, number, number];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 200, 0];
const BLUE: Rgb = [0, 0, 255];

/** A w × h RGB image whose pixel colour is given by a function of (x, y). */
function paint(w: number, h: number, colour: (x: number, y: number) => Rgb): sharp.Sharp {
  const buf = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) buf.set(colour(x, y), (y * w + x) * 3);
  return sharp(buf, { raw: { width: w, height: h, channels: 3 } });
}

const toByte = (v: number): number => Math.round((v + 1) * 127.5);

function all(split: DatasetSplit): Batch {
  return split.batch(Int32Array.from({ length: split.size }, (_, i) => i));
}

/** every pixel of every image equals `rgb` within `tol` grey levels */
function allPixels(x: Tensor4D, rgb: Rgb, tol: number): boolean {
  const d = x.dataSync();
  for (let i = 0; i < d.length; i++) if (Math.abs(toByte(d[i]) - rgb[i % 3]) > tol) return false;
  return true;
}

describe('image folder datasets', () => {
  it('centre-crops to a square and resizes: only the middle third of wide and tall images survives', async () => {
    const dir = path.join(tmp, 'crop');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    // 90×30: red | green | blue thirds left to right; 30×90: red / green / blue top to bottom
    await paint(90, 30, (x) => (x < 30 ? RED : x < 60 ? GREEN : BLUE))
      .png()
      .toFile(path.join(dir, 'wide.png'));
    await paint(30, 90, (_, y) => (y < 30 ? RED : y < 60 ? GREEN : BLUE))
      .webp({ lossless: true })
      .toFile(path.join(dir, 'sub', 'tall.webp'));
    await paint(40, 40, () => GREEN)
      .jpeg({ quality: 100 })
      .toFile(path.join(dir, 'square.JPG'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
    const d = await loadDataset({ name: 'folder', dir, size: 12, cacheDir: path.join(tmp, 'cache-crop') });
    expect(d.shape).toEqual([12, 12, 3]);
    expect(d.numClasses).toBeNull();
    expect(d.train.size + d.validation.size + d.test.size).toBe(3);
    for (const s of [d.train, d.validation, d.test]) {
      const b = all(s);
      // the crop happens before resampling, so nothing of the red/blue thirds leaks in; JPEG ±2 levels
      expect(allPixels(b.x, GREEN, 2)).toBe(true);
    }
  });

  it('grey images become three equal channels; values map byte → byte/127.5 − 1 exactly', async () => {
    const dir = path.join(tmp, 'grey');
    fs.mkdirSync(dir);
    const g = Buffer.alloc(16 * 16, 200);
    await sharp(g, { raw: { width: 16, height: 16, channels: 1 } })
      .png()
      .toFile(path.join(dir, 'g.png'));
    const x = await readImageFolder(dir, { size: 16 });
    expect(x.shape).toEqual([1, 16, 16, 3]);
    const v = x.dataSync();
    expect(v.every((a) => a === Math.fround(200 / 127.5 - 1))).toBe(true);
  });

  it("celeba uses AGE's crop: resize to 64×78 and keep rows 7..70", async () => {
    const root = path.join(tmp, 'celeba');
    const dir = path.join(root, 'img_align_celeba');
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 1; i <= 3; i++) {
      await paint(64, 78, (_, y) => (y < 7 ? RED : y < 71 ? GREEN : BLUE))
        .png()
        .toFile(path.join(dir, `00000${i}.png`));
    }
    const d = await loadDataset({ name: 'celeba', dir: root, cacheDir: path.join(tmp, 'cache-celeba') });
    expect(d.shape).toEqual([64, 64, 3]);
    expect(d.source).toContain('img_align_celeba');
    expect(allPixels(all(d.train).x, GREEN, 0)).toBe(true);
  });

  it('decodes once: a second load reads the decoded cache with identical pixels; a changed file invalidates it', async () => {
    const dir = path.join(tmp, 'cached');
    fs.mkdirSync(dir);
    for (let i = 0; i < 40; i++) {
      await paint(20, 20, (x, y) => [(x * 12 + i) % 256, (y * 12) % 256, (i * 6) % 256])
        .png()
        .toFile(path.join(dir, `im${String(i).padStart(2, '0')}.png`));
    }
    const cacheDir = path.join(tmp, 'cache-cached');
    const spec = { name: 'folder', dir, size: 20, cacheDir, seed: 4 } as const;
    const first = await loadDataset(spec);
    expect(first.source).toMatch(/decoded with sharp, cache written to/);
    expect([first.train.size, first.validation.size, first.test.size]).toEqual([36, 2, 2]);
    expect(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    const second = await loadDataset(spec);
    expect(second.source).toMatch(/read from decoded cache/);
    for (const s of ['train', 'validation', 'test'] as const) {
      expect(Array.from(all(second[s]).x.dataSync())).toEqual(Array.from(all(first[s]).x.dataSync()));
    }
    // pixels really are the files' bytes: every decoded image is one of the painted ones (no resize at 20)
    const v = all(first.test).x.dataSync();
    const i = toByte(v[2]) / 6; // blue channel of pixel 0 encodes the image number
    expect(toByte(v[3 * 5])).toBe((5 * 12 + i) % 256);
    // touching a file changes its mtime: the cache no longer matches and everything is decoded again
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, 'im07.png'), later, later);
    expect((await loadDataset(spec)).source).toMatch(/decoded with sharp/);
    expect((await loadDataset(spec)).source).toMatch(/read from decoded cache/);
  });

  it('a corrupt image fails naming the file; missing and empty directories fail naming the directory', async () => {
    const dir = path.join(tmp, 'corrupt');
    fs.mkdirSync(dir);
    await paint(8, 8, () => RED)
      .png()
      .toFile(path.join(dir, 'a.png'));
    fs.writeFileSync(path.join(dir, 'broken.jpg'), Buffer.from('this is not a jpeg at all, just text'));
    await expect(loadDataset({ name: 'folder', dir, cacheDir: path.join(tmp, 'cache-corrupt') })).rejects.toThrow(
      /cannot decode image .*broken\.jpg/,
    );
    const truncated = path.join(tmp, 'truncated');
    fs.mkdirSync(truncated);
    const png = await paint(32, 32, (x) => [x * 8, 0, 0])
      .png()
      .toBuffer();
    fs.writeFileSync(path.join(truncated, 'half.png'), png.subarray(0, png.length >> 1));
    await expect(
      loadDataset({ name: 'folder', dir: truncated, cacheDir: path.join(tmp, 'cache-trunc') }),
    ).rejects.toThrow(/half\.png/);
    const missing = path.join(tmp, 'does-not-exist');
    await expect(loadDataset({ name: 'celeba', dir: missing })).rejects.toThrow(
      /does-not-exist does not exist.*img_align_celeba/,
    );
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    await expect(loadDataset({ name: 'folder', dir: empty })).rejects.toThrow(/empty contains no images/);
  });
});

describe('image files', () => {
  it('saveImageGrid writes a PNG of the expected size with the images at their cells', async () => {
    // 5 images 8×6 with pixel values on the byte grid: image i is uniformly (40i + 10) grey in all channels
    const vals = new Float32Array(5 * 8 * 6 * 3);
    for (let i = 0; i < 5; i++) vals.fill((40 * i + 10) / 127.5 - 1, i * 144, (i + 1) * 144);
    const x = tf.tensor4d(vals, [5, 8, 6, 3]);
    const file = path.join(tmp, 'grid', 'samples.png');
    await saveImageGrid(x, file, { cols: 3 });
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    expect(gridSize(5, 8, 6, { cols: 3 })).toMatchObject({ width: 26, height: 22 });
    expect([info.width, info.height, info.channels]).toEqual([26, 22, 3]);
    // image 4 sits at column 1, row 1: its top-left pixel is at (2 + 8, 2 + 10)
    expect(data[(12 * 26 + 10) * 3]).toBe(170);
    expect(data[(2 * 26 + 2) * 3 + 1]).toBe(10);
    expect(data[0]).toBe(0); // padding
  });

  it('writeImages → readImageFolder round-trips values on the byte grid exactly, clamping out-of-range values', async () => {
    const n = 3;
    const vals = new Float32Array(n * 10 * 10 * 3);
    for (let k = 0; k < vals.length; k++) vals[k] = ((k * 37) % 256) / 127.5 - 1;
    vals[0] = 3; // clamps to 255
    vals[1] = -7; // clamps to 0
    const x = tf.tensor4d(vals, [n, 10, 10, 3]);
    const dir = path.join(tmp, 'written');
    const paths = await writeImages(x, dir, 'sample');
    expect(paths.map((p) => path.basename(p))).toEqual(['sample-00000.png', 'sample-00001.png', 'sample-00002.png']);
    const back = await readImageFolder(dir, { size: 10 });
    const b = back.dataSync();
    const expected = Array.from(vals, (v) => Math.min(1, Math.max(-1, v)));
    let maxErr = 0;
    for (let k = 0; k < b.length; k++) maxErr = Math.max(maxErr, Math.abs(b[k] - expected[k]));
    expect(maxErr).toBeLessThan(1e-6);
  });
});

describe('synthetic squares', () => {
  it('matches its documented statistics exactly per image and in the mean', async () => {
    const d = await loadDataset({ name: 'synthetic', resolution: 32, size: 2048, seed: 1 });
    expect([d.train.size, d.validation.size, d.test.size]).toEqual([1638, 205, 205]);
    const st = syntheticStatistics(32);
    expect(st.side).toBe(11);
    const b = all(d.train);
    const x = b.x.dataSync();
    const y = b.y!.dataSync();
    const colours: Rgb[] = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 1],
    ];
    let bad = 0;
    const sums = [0, 0, 0];
    for (let i = 0; i < d.train.size; i++) {
      let on = 0;
      let minX = 99;
      let minY = 99;
      let maxX = -1;
      let maxY = -1;
      for (let p = 0; p < 1024; p++) {
        const px = [0, 1, 2].map((c) => x[(i * 1024 + p) * 3 + c]);
        px.forEach((v, c) => (sums[c] += v));
        if (px.some((v) => v !== 1 && v !== -1)) bad++;
        if (px.some((v) => v > 0)) {
          on++;
          if (px.some((v, c) => (v > 0 ? 1 : 0) !== colours[y[i]][c])) bad++;
          const [xx, yy] = [p % 32, Math.floor(p / 32)];
          minX = Math.min(minX, xx);
          maxX = Math.max(maxX, xx);
          minY = Math.min(minY, yy);
          maxY = Math.max(maxY, yy);
        }
      }
      // exactly one filled 11×11 square
      if (on !== 121 || maxX - minX !== 10 || maxY - minY !== 10) bad++;
    }
    expect(bad).toBe(0);
    const means = sums.map((s) => s / (d.train.size * 1024));
    // per-channel mean: on with probability ½ per image, so sd of the mean ≈ 0.5·2f/√N ≈ 0.003; allow 4 sd
    for (const m of means) expect(Math.abs(m - st.channelMean[0])).toBeLessThan(0.012);
    const again = await loadDataset({ name: 'synthetic', resolution: 32, size: 2048, seed: 1 });
    expect(Array.from(all(again.test).x.dataSync())).toEqual(Array.from(all(d.test).x.dataSync()));
  });
});

describe('dataset specs', () => {
  it('accept the agreed shapes and reject bad fields by path', async () => {
    expect(DatasetSpecSchema.parse({ name: 'synthetic', resolution: 28 })).toEqual({
      name: 'synthetic',
      resolution: 28,
    });
    expect(() => parseDatasetSpec({ name: 'synthetic', resolution: 30 })).toThrow(/resolution/);
    expect(() => parseDatasetSpec({ name: 'colormnist', varaint: 'stacked' })).toThrow(/varaint/);
    expect(() => parseDatasetSpec({ name: 'cifar10' })).toThrow(/dir/);
    expect(() => parseDatasetSpec({ name: 'imagenet', dir: 'x' })).toThrow(/name/);
    await expect(loadDataset({ name: 'folder', dir: 'x', size: 0 } as never)).rejects.toThrow(/size/);
  });
});
