/**
 * Datasets with real bytes: the digits shipped in the `mnist` package, MNIST IDX / CIFAR-10 / image-folder
 * files written by these tests, and the synthetic set. Each expectation is computed independently of the
 * loaders (from the bytes the test wrote or read itself).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/index.js';
import type { Batch, Dataset, DatasetSplit } from '../src/data/index.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ganstudy-data-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The package's digits read independently of src/data: grey bytes (key) → digit. */
function packageDigits(): { keys: string[]; labels: number[]; bytes: Uint8Array[] } {
  const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const keys: string[] = [];
  const labels: number[] = [];
  const bytes: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const data = (JSON.parse(fs.readFileSync(path.join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data;
    for (let i = 0; i + 784 <= data.length; i += 784) {
      const b = Uint8Array.from(data.slice(i, i + 784), (v) => Math.round(v * 255));
      bytes.push(b);
      keys.push(Buffer.from(b).toString('base64'));
      labels.push(d);
    }
  }
  return { keys, labels, bytes };
}

/** byte of a [-1, 1] value on the 1/127.5 grid */
const toByte = (v: number): number => Math.round((v + 1) * 127.5);

/** For each 28×28×3 image: the grey digit (max over channels) as a key, and which channels are on. */
function analyse(x: Float32Array, n: number, channel?: number): { keys: string[]; patterns: number[] } {
  const keys: string[] = [];
  const patterns: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = new Uint8Array(784);
    let pattern = 0;
    for (let p = 0; p < 784; p++) {
      for (let c = 0; c < 3; c++) {
        const v = x[(i * 784 + p) * 3 + c];
        if (channel === undefined ? v > -1 : c === channel) g[p] = Math.max(g[p], toByte(v));
        if (v > -1) pattern |= 1 << c;
      }
    }
    keys.push(Buffer.from(g).toString('base64'));
    patterns.push(pattern);
  }
  return { keys, patterns };
}

function all(split: DatasetSplit, seed = 0): Batch {
  return split.batch(
    Int32Array.from({ length: split.size }, (_, i) => i),
    seed,
  );
}

function dispose(b: Batch): void {
  b.x.dispose();
  b.y?.dispose();
}

function sameBatch(a: Batch, b: Batch): boolean {
  const xa = a.x.dataSync();
  const xb = b.x.dataSync();
  if (xa.length !== xb.length) return false;
  for (let i = 0; i < xa.length; i++) if (xa[i] !== xb[i]) return false;
  return (
    JSON.stringify(a.y ? Array.from(a.y.dataSync()) : null) === JSON.stringify(b.y ? Array.from(b.y.dataSync()) : null)
  );
}

describe('ColorMNIST from the mnist package (real digits)', () => {
  const ref = packageDigits();
  const labelOf = new Map(ref.keys.map((k, i) => [k, ref.labels[i]]));
  let d: Dataset;
  beforeAll(async () => {
    d = await loadDataset({ name: 'colormnist' });
  });

  it('has 8,000 / 1,000 / 1,000 disjoint splits covering all 10,000 shipped digits, with their true labels', () => {
    expect(ref.keys.length).toBe(10_000);
    expect(d.shape).toEqual([28, 28, 3]);
    expect(d.numClasses).toBe(10);
    expect([d.train.size, d.validation.size, d.test.size]).toEqual([8000, 1000, 1000]);
    const seen = new Map<string, number>();
    let count = 0;
    for (const split of [d.train, d.validation, d.test]) {
      const b = all(split, 11);
      expect(b.x.shape).toEqual([split.size, 28, 28, 3]);
      const x = b.x.dataSync() as Float32Array;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of x) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      expect(lo).toBe(-1);
      expect(hi).toBe(1);
      const { keys } = analyse(x, split.size);
      const y = b.y!.dataSync();
      let wrongLabels = 0;
      keys.forEach((k, i) => {
        if (labelOf.get(k) !== y[i]) wrongLabels++;
        seen.set(k, (seen.get(k) ?? 0) + 1);
        count++;
      });
      expect(wrongLabels).toBe(0);
      dispose(b);
    }
    // every shipped digit exactly as often as it occurs in the package (duplicate digits would count twice)
    const refCount = new Map<string, number>();
    for (const k of ref.keys) refCount.set(k, (refCount.get(k) ?? 0) + 1);
    expect(count).toBe(10_000);
    expect(seen).toEqual(refCount);
  });

  it('colours each digit with exactly one of the 7 colours: on channels equal the digit, off channels are −1', () => {
    const b = d.train.sample(2100, 5);
    const x = b.x.dataSync() as Float32Array;
    const counts = new Array(8).fill(0) as number[];
    let violations = 0;
    for (let i = 0; i < 2100; i++) {
      let pattern = 0;
      for (let c = 0; c < 3; c++) {
        let on = false;
        for (let p = 0; p < 784; p++) if (x[(i * 784 + p) * 3 + c] > -1) on = true;
        if (on) pattern |= 1 << c;
      }
      if (pattern === 0) violations++;
      let first = -1;
      for (let c = 0; c < 3; c++)
        if (pattern & (1 << c)) {
          first = c;
          break;
        }
      for (let p = 0; p < 784; p++) {
        for (let c = 0; c < 3; c++) {
          const v = x[(i * 784 + p) * 3 + c];
          // lit channels carry the same grey digit; unlit ones are exactly −1
          if (pattern & (1 << c) ? v !== x[(i * 784 + p) * 3 + first] : v !== -1) violations++;
        }
      }
      counts[pattern]++;
    }
    expect(violations).toBe(0);
    expect(counts[0]).toBe(0);
    // 7 colours uniform: expected 300 each; binomial sd ≈ 16, allow ±4.5 sd
    for (let p = 1; p < 8; p++) expect(Math.abs(counts[p] - 300)).toBeLessThan(75);
    dispose(b);
  });

  it('draws colours from the batch seed: same seed → same batch, other seed → other colours, same digits', () => {
    const idx = [0, 5, 17, 999, 4000];
    const a = d.train.batch(idx, 1);
    const b = d.train.batch(idx, 1);
    const c = d.train.batch(idx, 2);
    expect(sameBatch(a, b)).toBe(true);
    expect(sameBatch(a, c)).toBe(false);
    expect(analyse(a.x.dataSync() as Float32Array, 5).keys).toEqual(analyse(c.x.dataSync() as Float32Array, 5).keys);
    [a, b, c].forEach(dispose);
  });

  it('fixes the split by the seed: same seed → same test split, other seed → a different one', async () => {
    const again = await loadDataset({ name: 'colormnist', seed: 0 });
    const other = await loadDataset({ name: 'colormnist', seed: 1 });
    const k0 = analyse(all(d.test).x.dataSync() as Float32Array, 1000).keys;
    const k1 = analyse(all(again.test).x.dataSync() as Float32Array, 1000).keys;
    const k2 = analyse(all(other.test).x.dataSync() as Float32Array, 1000).keys;
    expect(k1).toEqual(k0);
    const overlap = k2.filter((k) => new Set(k0).has(k)).length;
    expect(overlap).toBeLessThan(300); // random 10% subsets overlap in ~100
  });

  it('stacked variant: three real digits as R, G, B, label = 100·R + 10·G + B', async () => {
    const s = await loadDataset({ name: 'colormnist', variant: 'stacked', limit: 2000, seed: 3 });
    expect(s.numClasses).toBe(1000);
    expect([s.train.size, s.validation.size, s.test.size]).toEqual([1600, 200, 200]);
    const b = s.train.sample(300, 9);
    const x = b.x.dataSync() as Float32Array;
    const y = Array.from(b.y!.dataSync());
    const digit = (c: number) => analyse(x, 300, c).keys.map((k) => labelOf.get(k));
    const [r, g, bl] = [digit(0), digit(1), digit(2)];
    y.forEach((label, i) => {
      expect(r[i]).toBeDefined();
      expect(label).toBe(100 * r[i]! + 10 * g[i]! + bl[i]!);
    });
    expect(new Set(y).size).toBeGreaterThan(200); // many of the 1,000 modes in 300 draws
    dispose(b);
  });
});

describe('batch streams', () => {
  it('are deterministic by seed, skip ahead exactly with startBatch (across epochs), and each epoch is a permutation', async () => {
    const d = await loadDataset({ name: 'colormnist', limit: 50, seed: 2 });
    expect(d.train.size).toBe(40);
    const take = (seed: number, start: number, k: number): Batch[] => {
      const it = d.train.batches(8, seed, start);
      return Array.from({ length: k }, () => it.next().value as Batch);
    };
    const run = take(7, 0, 12); // 96 examples: 2.4 epochs of 40
    const again = take(7, 0, 12);
    run.forEach((b, i) => expect(sameBatch(b, again[i])).toBe(true));
    for (const start of [1, 5, 9]) {
      const resumed = take(7, start, 3);
      resumed.forEach((b, i) => expect(sameBatch(b, run[start + i])).toBe(true));
    }
    expect(sameBatch(take(8, 0, 1)[0], run[0])).toBe(false);
    // types.ts promises an Iterator; the implementation is also iterable
    for (const b of d.train.batches(8, 7, 3) as IterableIterator<Batch>) {
      expect(sameBatch(b, run[3])).toBe(true); // also usable with for…of
      break;
    }
    // epochs 0 and 1 (batches 0–4 and 5–9) each show every training digit exactly once, in different orders
    const epochKeys = (from: number) =>
      run.slice(from, from + 5).flatMap((b) => analyse(b.x.dataSync() as Float32Array, 8).keys);
    const all40 = analyse(all(d.train).x.dataSync() as Float32Array, 40).keys.sort();
    const e0 = epochKeys(0);
    const e1 = epochKeys(5);
    expect([...e0].sort()).toEqual(all40);
    expect([...e1].sort()).toEqual(all40);
    expect(e0).not.toEqual(e1);
  });

  it('sample(n) draws distinct examples when n ≤ size and with replacement beyond', async () => {
    const d = await loadDataset({ name: 'synthetic', resolution: 28, size: 100 });
    const a = d.validation.sample(10, 1);
    const x = a.x.dataSync();
    const keys = new Set<string>();
    for (let i = 0; i < 10; i++)
      keys.add(Buffer.from(Float32Array.from(x.subarray(i * 2352, (i + 1) * 2352)).buffer).toString('base64'));
    expect(keys.size).toBe(10);
    expect(d.validation.sample(25, 1).x.shape[0]).toBe(25);
    expect(sameBatch(d.validation.sample(10, 1), a)).toBe(true);
    expect(() => d.validation.batch([10])).toThrow(/out of range/);
  });
});

/** IDX file bytes for images (N × 28 × 28) or labels */
function idx(kind: 'images' | 'labels', data: Uint8Array, n: number): Buffer {
  const head = Buffer.alloc(kind === 'images' ? 16 : 8);
  head.writeUInt32BE(kind === 'images' ? 2051 : 2049, 0);
  head.writeUInt32BE(n, 4);
  if (kind === 'images') {
    head.writeUInt32BE(28, 8);
    head.writeUInt32BE(28, 12);
  }
  return Buffer.concat([head, Buffer.from(data)]);
}

describe('ColorMNIST from MNIST IDX files', () => {
  const ref = packageDigits();
  const pick = (from: number, n: number) => {
    // a mix of classes: every 37th package digit
    const ids = Array.from({ length: n }, (_, i) => (from + i * 37) % ref.bytes.length);
    const images = new Uint8Array(n * 784);
    ids.forEach((id, i) => images.set(ref.bytes[id], i * 784));
    return { images, labels: Uint8Array.from(ids, (id) => ref.labels[id]), keys: ids.map((id) => ref.keys[id]) };
  };

  it('reads gzipped and plain IDX files: test = t10k in order, validation = 1/12 of train by seed', async () => {
    const dir = path.join(tmp, 'mnist-idx');
    fs.mkdirSync(dir);
    const train = pick(0, 120);
    const test = pick(5, 30);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), zlib.gzipSync(idx('images', train.images, 120)));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(idx('labels', train.labels, 120)));
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx('images', test.images, 30));
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idx('labels', test.labels, 30));
    const d = await loadDataset({ name: 'colormnist', mnistDir: dir });
    expect([d.train.size, d.validation.size, d.test.size]).toEqual([110, 10, 30]);
    const t = all(d.test);
    expect(analyse(t.x.dataSync() as Float32Array, 30).keys).toEqual(test.keys);
    expect(Array.from(t.y!.dataSync())).toEqual(Array.from(test.labels));
    const trainKeys = [
      ...analyse(all(d.train).x.dataSync() as Float32Array, 110).keys,
      ...analyse(all(d.validation).x.dataSync() as Float32Array, 10).keys,
    ];
    expect(trainKeys.sort()).toEqual([...train.keys].sort());
    expect(d.source).toContain(dir);
  });

  it('names the file and the expected size when an IDX file is truncated or missing', async () => {
    const dir = path.join(tmp, 'mnist-bad');
    fs.mkdirSync(dir);
    const t = pick(0, 10);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idx('images', t.images, 10).subarray(0, 16 + 784 * 9));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idx('labels', t.labels, 10));
    await expect(loadDataset({ name: 'colormnist', mnistDir: dir })).rejects.toThrow(
      new RegExp(`train-images-idx3-ubyte: ${16 + 784 * 9} bytes .*expected ${16 + 7840}`),
    );
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idx('images', t.images, 10));
    await expect(loadDataset({ name: 'colormnist', mnistDir: dir })).rejects.toThrow(
      /t10k-images-idx3-ubyte\[\.gz\] not found.*mnistDir/,
    );
    await expect(loadDataset({ name: 'colormnist', mnistDir: path.join(tmp, 'nope') })).rejects.toThrow(
      /nope does not exist/,
    );
  });
});

describe('CIFAR-10 binary batches', () => {
  const RECORD = 3073;
  // record r of file f: label (r + 3f) mod 10; pixel p of channel c = (r + 7p + 50c + 51f) mod 256 (so with
  // r < 40, pixel 0 of red = r + 51f identifies the record)
  const px = (f: number, r: number, p: number, c: number) => (r + 7 * p + 50 * c + 51 * f) % 256;
  const files = [
    'data_batch_1.bin',
    'data_batch_2.bin',
    'data_batch_3.bin',
    'data_batch_4.bin',
    'data_batch_5.bin',
    'test_batch.bin',
  ];
  let dir: string;
  beforeAll(() => {
    dir = path.join(tmp, 'cifar', 'cifar-10-batches-bin');
    fs.mkdirSync(dir, { recursive: true });
    files.forEach((name, f) => {
      const buf = Buffer.alloc(10_000 * RECORD);
      for (let r = 0; r < 10_000; r++) {
        buf[r * RECORD] = (r + 3 * f) % 10;
        for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) buf[r * RECORD + 1 + c * 1024 + p] = px(f, r, p, c);
      }
      fs.writeFileSync(path.join(dir, name), buf);
    });
  });

  it('decodes labels and planar R, G, B into HWC pixels; test = test_batch; validation carved from train', async () => {
    const d = await loadDataset({ name: 'cifar10', dir: path.dirname(dir), limit: 40, validationSize: 20 });
    expect(d.shape).toEqual([32, 32, 3]);
    expect([d.train.size, d.validation.size, d.test.size]).toEqual([180, 20, 40]);
    const t = all(d.test);
    const x = t.x.dataSync();
    const y = t.y!.dataSync();
    for (let r = 0; r < 40; r++) {
      expect(y[r]).toBe((r + 15) % 10);
      if (r > 3) continue;
      for (const p of [0, 1, 31, 32, 500, 1023])
        for (let c = 0; c < 3; c++) expect(toByte(x[(r * 1024 + p) * 3 + c])).toBe(px(5, r, p, c));
    }
    // train ∪ validation = the 5 × 40 training records, identified by (file, record) from pixel 0
    const ids: string[] = [];
    for (const s of [d.train, d.validation]) {
      const b = all(s);
      const xb = b.x.dataSync();
      const yb = b.y!.dataSync();
      for (let i = 0; i < s.size; i++) {
        const v0 = toByte(xb[i * 3072]);
        const f = Math.floor(v0 / 51);
        const r = v0 - 51 * f;
        expect(yb[i]).toBe((r + 3 * f) % 10);
        expect(toByte(xb[i * 3072 + 3 * 1023 + 2])).toBe(px(f, r, 1023, 2));
        ids.push(`${f}:${r}`);
      }
    }
    expect(new Set(ids).size).toBe(200);
  });

  it('a file of the wrong size or a missing directory fails naming the file, the expected size and where to get it', async () => {
    const bad = path.join(tmp, 'cifar-bad');
    fs.mkdirSync(bad);
    for (const name of files) fs.copyFileSync(path.join(dir, name), path.join(bad, name));
    fs.truncateSync(path.join(bad, 'data_batch_3.bin'), 1000);
    await expect(loadDataset({ name: 'cifar10', dir: bad })).rejects.toThrow(
      /data_batch_3\.bin has 1000 bytes, expected 30730000.*cs\.toronto\.edu\/~kriz\/cifar\.html/,
    );
    fs.rmSync(path.join(bad, 'test_batch.bin'));
    fs.copyFileSync(path.join(dir, 'data_batch_3.bin'), path.join(bad, 'data_batch_3.bin'));
    await expect(loadDataset({ name: 'cifar10', dir: bad })).rejects.toThrow(
      /test_batch\.bin is missing \(expected 30730000 bytes\)/,
    );
    await expect(loadDataset({ name: 'cifar10', dir: path.join(tmp, 'no-cifar') })).rejects.toThrow(
      /no-cifar does not exist.*cifar-10-binary\.tar\.gz/,
    );
  });
});
