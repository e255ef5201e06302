/**
 * Image-folder datasets (CelebA's img_align_celeba, or any folder of jpg/jpeg/png/webp), decoded with
 * sharp into uint8 HWC rows of size × size × 3, with a decoded cache on disk so that only the first load
 * pays for JPEG decoding (CelebA: ~200k files).
 *
 * Crops:
 *  - 'centre' (name 'folder'): cut the largest centred square, then resize it to size × size.
 *  - 'age' (name 'celeba'): AGE's ALICropAndScale — resize to size × round(size·78/64) (w × h; 64 × 78 at
 *    64 px) and keep rows round(7·size/64) … +size, i.e. rows 7..70 at 64 px: the face region. Images of
 *    another aspect than 64:78 are first centre-cut to it (CelebA's 178 × 218 loses one row, where AGE
 *    would stretch by 0.5%).
 * Cropping happens on the full-resolution image, before resampling, so no pixels from outside the crop
 * leak in through the resize kernel.
 * Alpha is composited over black; greyscale becomes three equal channels; EXIF orientation is applied.
 *
 * Cache file (one per dir × size × crop × limit, default .cache/datasets/<hash>/images.bin):
 *   8 bytes "GSIMG001" | uint32 LE header length | header JSON | N × size × size × 3 uint8 pixels.
 * The header lists every file (relative path, mtime, byte size); the cache is used only when the folder
 * still lists exactly those files, otherwise everything is decoded again and the cache rewritten.
 *
 * Splits: a seeded permutation into 90% train / 5% validation / 5% test (at least one image each when
 * there are ≥ 3 images). CelebA's own list_eval_partition.txt is not used.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import type { FolderSpec } from './spec.js';
import { createSplit, splitRows, uint8Renderer } from './split.js';
import type { Dataset, SplitName } from './types.js';

export type CropMode = 'centre' | 'age';
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;
const CACHE_MAGIC = 'GSIMG001';
const CELEBA_HELP =
  'CelebA: download img_align_celeba.zip from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Align&Cropped Images) and unzip it so that <dir>/img_align_celeba/000001.jpg exists; pass <dir> (or the img_align_celeba folder itself) as dir.';
const FOLDER_HELP = 'Put .jpg, .jpeg, .png or .webp images (any depth of subfolders) under that directory.';

export interface ImageFile {
  /** path relative to the dataset directory, '/'-separated */
  rel: string;
  mtimeMs: number;
  bytes: number;
}

/** All images under `dir` (recursively), sorted by relative path so the order is stable across machines. */
export function listImages(dir: string, help = FOLDER_HELP): ImageFile[] {
  if (!fs.existsSync(dir)) throw new Error(`image directory ${dir} does not exist. ${help}`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`image directory ${dir} is not a directory. ${help}`);
  const out: ImageFile[] = [];
  const walk = (sub: string): void => {
    for (const ent of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${ent.name}` : ent.name;
      if (ent.isDirectory()) walk(rel);
      else if (IMAGE_EXTENSIONS.includes(path.extname(ent.name).toLowerCase() as (typeof IMAGE_EXTENSIONS)[number])) {
        const st = fs.statSync(path.join(dir, rel));
        out.push({ rel, mtimeMs: st.mtimeMs, bytes: st.size });
      }
    }
  };
  walk('');
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  if (out.length === 0)
    throw new Error(`image directory ${dir} contains no images (${IMAGE_EXTENSIONS.join(', ')}). ${help}`);
  return out;
}

/** Decode one file to size × size × 3 uint8 (HWC). Errors name the file. */
export async function decodeImage(file: string, size: number, crop: CropMode): Promise<Uint8Array> {
  try {
    // Decode at full size first so the crop happens before resampling: a resize-then-crop ('cover') lets
    // the resampling kernel pull in pixels from outside the crop.
    const full = await sharp(file, { failOn: 'error' })
      .rotate()
      .flatten({ background: '#000000' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = full.info;
    // the target aspect (w / h) of the region we keep before resizing
    const aspect = crop === 'age' ? 64 / 78 : 1;
    let cw = width;
    let ch = Math.round(width / aspect);
    if (ch > height) {
      ch = height;
      cw = Math.round(height * aspect);
    }
    let img = sharp(full.data, { raw: { width, height, channels } }).extract({
      left: Math.floor((width - cw) / 2),
      top: Math.floor((height - ch) / 2),
      width: Math.max(1, cw),
      height: Math.max(1, ch),
    });
    if (crop === 'age') {
      const h = Math.round((size * 78) / 64);
      img = img
        .resize(size, h, { fit: 'fill' })
        .extract({ left: 0, top: Math.round((7 * size) / 64), width: size, height: size });
    } else {
      img = img.resize(size, size, { fit: 'fill' });
    }
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.width !== size || info.height !== size)
      throw new Error(`decoded to ${info.width}×${info.height}, expected ${size}×${size}`);
    const out = new Uint8Array(size * size * 3);
    const c = info.channels;
    for (let p = 0; p < size * size; p++) {
      if (c >= 3) {
        out[3 * p] = data[c * p];
        out[3 * p + 1] = data[c * p + 1];
        out[3 * p + 2] = data[c * p + 2];
      } else {
        out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = data[c * p];
      }
    }
    return out;
  } catch (e) {
    throw new Error(`cannot decode image ${file}: ${(e as Error).message}. Remove or replace the file.`);
  }
}

/** Decode files (relative to dir) into one preallocated uint8 array, `concurrency` at a time. */
export async function decodeAll(
  dir: string,
  files: readonly ImageFile[],
  size: number,
  crop: CropMode,
  concurrency: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Uint8Array> {
  const rowBytes = size * size * 3;
  const pixels = new Uint8Array(files.length * rowBytes);
  const limit = pLimit(concurrency);
  let done = 0;
  await Promise.all(
    files.map((f, i) =>
      limit(async () => {
        pixels.set(await decodeImage(path.join(dir, f.rel), size, crop), i * rowBytes);
        done++;
        onProgress?.(done, files.length);
      }),
    ),
  );
  return pixels;
}

interface CacheHeader {
  format: 'ganstudy-decoded-images';
  version: 1;
  dir: string;
  size: number;
  crop: CropMode;
  count: number;
  files: [string, number, number][];
}

function sameFiles(h: CacheHeader, files: readonly ImageFile[]): boolean {
  if (h.files.length !== files.length) return false;
  for (let i = 0; i < files.length; i++) {
    const [rel, mtime, bytes] = h.files[i];
    if (rel !== files[i].rel || mtime !== files[i].mtimeMs || bytes !== files[i].bytes) return false;
  }
  return true;
}

/** The cached pixels if the cache file matches this listing, else null (a broken cache is ignored). */
function readCache(
  file: string,
  want: Omit<CacheHeader, 'files' | 'format' | 'version'>,
  files: readonly ImageFile[],
): Uint8Array | null {
  if (!fs.existsSync(file)) return null;
  const fd = fs.openSync(file, 'r');
  try {
    const pre = Buffer.alloc(12);
    if (fs.readSync(fd, pre, 0, 12, 0) !== 12 || pre.toString('latin1', 0, 8) !== CACHE_MAGIC) return null;
    const headerLen = pre.readUInt32LE(8);
    const hb = Buffer.alloc(headerLen);
    if (fs.readSync(fd, hb, 0, headerLen, 12) !== headerLen) return null;
    const h = JSON.parse(hb.toString('utf8')) as CacheHeader;
    if (
      h.format !== 'ganstudy-decoded-images' ||
      h.version !== 1 ||
      h.dir !== want.dir ||
      h.size !== want.size ||
      h.crop !== want.crop ||
      h.count !== want.count
    )
      return null;
    if (!sameFiles(h, files)) return null;
    const total = h.count * h.size * h.size * 3;
    if (fs.fstatSync(fd).size !== 12 + headerLen + total) return null;
    const pixels = new Uint8Array(total);
    const chunk = 64 << 20;
    for (let off = 0; off < total; ) {
      const n = fs.readSync(fd, pixels, off, Math.min(chunk, total - off), 12 + headerLen + off);
      if (n <= 0) return null;
      off += n;
    }
    return pixels;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

function writeCache(file: string, header: CacheHeader, pixels: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const hb = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(12);
  pre.write(CACHE_MAGIC, 0, 'latin1');
  pre.writeUInt32LE(hb.length, 8);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, pre);
    fs.writeSync(fd, hb);
    const chunk = 64 << 20;
    for (let off = 0; off < pixels.length; ) off += fs.writeSync(fd, pixels, off, Math.min(chunk, pixels.length - off));
  } finally {
    fs.closeSync(fd);
  }
  // rename is atomic: a concurrent trial either sees the old cache or the complete new one
  fs.renameSync(tmp, file);
}

/**
 * Files decoded at once. JPEG decoding is CPU-bound in libvips' own threads, but each file also waits on
 * I/O and on the JS thread; measured on a 2-core machine (CelebA-sized JPEGs), 2× the cores was ~15%
 * faster than 1× (≈3.9 vs 4.5 ms per image).
 */
export function defaultDecodeConcurrency(): number {
  return Math.max(4, 2 * os.availableParallelism());
}

export interface FolderLoadOptions {
  onProgress?: (message: string) => void;
}

/** CelebA: accept the folder that holds img_align_celeba/ as well as img_align_celeba itself */
function resolveCelebaDir(dir: string): string {
  const nested = path.join(dir, 'img_align_celeba');
  return fs.existsSync(nested) && fs.statSync(nested).isDirectory() ? nested : dir;
}

export async function loadImageFolder(spec: FolderSpec, opts: FolderLoadOptions = {}): Promise<Dataset> {
  const celeba = spec.name === 'celeba';
  const dir = path.resolve(celeba ? resolveCelebaDir(spec.dir) : spec.dir);
  const size = spec.size ?? 64;
  const crop: CropMode = celeba ? 'age' : 'centre';
  const seed = spec.seed ?? 0;
  let files = listImages(dir, celeba ? CELEBA_HELP : FOLDER_HELP);
  if (spec.limit !== undefined) files = files.slice(0, spec.limit);
  const key = crypto
    .createHash('sha1')
    .update(JSON.stringify({ dir, size, crop, limit: spec.limit ?? null }))
    .digest('hex')
    .slice(0, 16);
  const cacheFile = path.join(
    path.resolve(spec.cacheDir ?? path.join('.cache', 'datasets', key)),
    `images-${size}-${crop}.bin`,
  );
  const want = { dir, size, crop, count: files.length };

  let pixels = readCache(cacheFile, want, files);
  let how: string;
  if (pixels) {
    how = `read from decoded cache ${cacheFile}`;
  } else {
    const report =
      opts.onProgress ?? (files.length >= 2000 ? (m: string) => process.stderr.write(`[ganstudy] ${m}\n`) : undefined);
    const step = Math.max(1, Math.floor(files.length / 20));
    const t0 = Date.now();
    pixels = await decodeAll(dir, files, size, crop, spec.concurrency ?? defaultDecodeConcurrency(), (done, total) => {
      if (report && (done % step === 0 || done === total)) {
        const s = (Date.now() - t0) / 1000;
        report(`decoding ${dir}: ${done}/${total} images (${(done / Math.max(s, 1e-3)).toFixed(0)}/s)`);
      }
    });
    writeCache(
      cacheFile,
      { format: 'ganstudy-decoded-images', version: 1, ...want, files: files.map((f) => [f.rel, f.mtimeMs, f.bytes]) },
      pixels,
    );
    how = `decoded with sharp, cache written to ${cacheFile}`;
  }

  const n = files.length;
  const small = n >= 3 ? Math.max(1, Math.round(n * 0.05)) : 0;
  const s = splitRows(n, seed, small, small);
  const rows: Record<SplitName, Int32Array> = s;
  const shape = [size, size, 3] as const;
  const split = (name: SplitName) =>
    createSplit({
      name,
      size: rows[name].length,
      shape,
      hasLabels: false,
      render: uint8Renderer(pixels!, size * size * 3, rows[name], null),
    });
  return {
    name: spec.name,
    shape,
    numClasses: null,
    train: split('train'),
    validation: split('validation'),
    test: split('test'),
    source: `${celeba ? 'CelebA' : 'image folder'} ${dir}: ${n} images, ${crop} crop to ${size}×${size}, ${how}; split seed ${seed}`,
  };
}
