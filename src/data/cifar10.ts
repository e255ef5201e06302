/**
 * CIFAR-10 from the official binary batches (cifar-10-binary.tar.gz). Each of data_batch_1..5.bin and
 * test_batch.bin holds 10,000 records of 3,073 bytes: one label byte, then the 32×32 red plane, green
 * plane and blue plane (row-major). We store them as HWC uint8 rows.
 *
 * Splits: test = test_batch.bin (10,000); validation = `validationSize` (default 5,000) of the 50,000
 * training images chosen by the seed; train = the rest (45,000).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Cifar10Spec } from './spec.js';
import { createSplit, deriveSeed, range, splitRows, uint8Renderer } from './split.js';
import type { Dataset, SplitName } from './types.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;
const RECORDS_PER_FILE = 10_000;
export const CIFAR10_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
] as const;
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

function help(dir: string): string {
  return `Download the CIFAR-10 binary version (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html and extract it so that ${path.join(dir, 'data_batch_1.bin')} … test_batch.bin exist (\`tar xzf cifar-10-binary.tar.gz\` makes cifar-10-batches-bin/; pass that folder or its parent as dir).`;
}

/** `dir` itself, or its cifar-10-batches-bin/ subfolder when that is where the files are */
function resolveDir(dir: string): string {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`CIFAR-10 directory ${dir} does not exist. ${help(dir)}`);
  }
  const nested = path.join(dir, 'cifar-10-batches-bin');
  if (!fs.existsSync(path.join(dir, CIFAR10_FILES[0])) && fs.existsSync(path.join(nested, CIFAR10_FILES[0])))
    return nested;
  return dir;
}

function readBatchFile(
  file: string,
  limit: number,
  images: Uint8Array,
  labels: Uint8Array,
  at: number,
  helpText: string,
): number {
  if (!fs.existsSync(file))
    throw new Error(`CIFAR-10 file ${file} is missing (expected ${RECORDS_PER_FILE * RECORD} bytes). ${helpText}`);
  const size = fs.statSync(file).size;
  if (size !== RECORDS_PER_FILE * RECORD) {
    throw new Error(
      `CIFAR-10 file ${file} has ${size} bytes, expected ${RECORDS_PER_FILE * RECORD} (${RECORDS_PER_FILE} records × ${RECORD} bytes); it is truncated or not the binary version. ${helpText}`,
    );
  }
  const buf = fs.readFileSync(file);
  const n = Math.min(RECORDS_PER_FILE, limit);
  for (let r = 0; r < n; r++) {
    const rec = r * RECORD;
    const label = buf[rec];
    if (label > 9)
      throw new Error(
        `CIFAR-10 file ${file}: record ${r} has label ${label}, expected 0..9; the file is corrupt. ${helpText}`,
      );
    labels[at + r] = label;
    const dst = (at + r) * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      images[dst + 3 * p] = buf[rec + 1 + p];
      images[dst + 3 * p + 1] = buf[rec + 1 + PLANE + p];
      images[dst + 3 * p + 2] = buf[rec + 1 + 2 * PLANE + p];
    }
  }
  return n;
}

export function loadCifar10(spec: Cifar10Spec): Dataset {
  const dir = resolveDir(spec.dir);
  const helpText = help(dir);
  const perFile = Math.min(RECORDS_PER_FILE, spec.limit ?? RECORDS_PER_FILE);
  const total = perFile * CIFAR10_FILES.length;
  const images = new Uint8Array(total * 3 * PLANE);
  const labels = new Uint8Array(total);
  let at = 0;
  for (const f of CIFAR10_FILES) at += readBatchFile(path.join(dir, f), perFile, images, labels, at, helpText);
  const nTrain = perFile * 5;
  const seed = spec.seed ?? 0;
  const validation = Math.min(spec.validationSize ?? Math.round(nTrain / 10), nTrain - 1);
  const carved = splitRows(nTrain, deriveSeed(seed, 0x43494641), validation, 0);
  const rows: Record<SplitName, Int32Array> = {
    train: carved.train,
    validation: carved.validation,
    test: range(nTrain, total),
  };
  const shape = [SIDE, SIDE, 3] as const;
  const split = (name: SplitName) =>
    createSplit({
      name,
      size: rows[name].length,
      shape,
      hasLabels: true,
      render: uint8Renderer(images, 3 * PLANE, rows[name], labels),
    });
  return {
    name: 'cifar10',
    shape,
    numClasses: 10,
    train: split('train'),
    validation: split('validation'),
    test: split('test'),
    source: `CIFAR-10 binary batches in ${dir} (${nTrain} train incl. ${validation} validation, ${total - nTrain} test), split seed ${seed}`,
  };
}
