/**
 * Datasets for ganstudy: `loadDataset(spec)` → train / validation / test splits of NHWC float32 images
 * in [-1, 1] (see types.ts for the contract, spec.ts for what a spec may say, and each loader's header
 * for its splits and provenance). Nothing is downloaded: a missing or corrupt file fails with its name,
 * the size expected and where to get it.
 */
import { loadCifar10 } from './cifar10.js';
import { loadColorMnist } from './colormnist.js';
import { loadImageFolder } from './image-folder.js';
import type { FolderLoadOptions } from './image-folder.js';
import { parseDatasetSpec } from './spec.js';
import type { DatasetSpec } from './spec.js';
import { loadSynthetic } from './synthetic.js';
import type { Dataset } from './types.js';

export { DatasetSpecSchema, parseDatasetSpec } from './spec.js';
export type { DatasetSpec, ColorMnistSpec, Cifar10Spec, FolderSpec, SyntheticSpec } from './spec.js';
export type { Batch, Dataset, DatasetName, DatasetSplit, SplitName } from './types.js';
export { SYNTHETIC_COLORS, syntheticStatistics, syntheticSide } from './synthetic.js';
export type { SyntheticStatistics } from './synthetic.js';
export { colorBits } from './colormnist.js';
export { CIFAR10_CLASSES } from './cifar10.js';
export { deriveSeed } from './split.js';

export interface LoadOptions extends FolderLoadOptions {}

/** Load a dataset described by `spec` (validated here, so untrusted input is fine). */
export async function loadDataset(spec: DatasetSpec, opts: LoadOptions = {}): Promise<Dataset> {
  const s = parseDatasetSpec(spec);
  switch (s.name) {
    case 'colormnist':
      return loadColorMnist(s);
    case 'cifar10':
      return loadCifar10(s);
    case 'celeba':
    case 'folder':
      return loadImageFolder(s, opts);
    case 'synthetic':
      return loadSynthetic(s);
  }
}
