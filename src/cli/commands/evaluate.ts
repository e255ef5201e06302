/**
 * `ganstudy evaluate <folder of images>`: scores any set of images (samples of any model, not only ganstudy's)
 * with the evaluation suite. The images play the generator: `sample(n, seed)` draws n of them (without
 * replacement while n ≤ their count). Scores go to stdout as one JSON object; progress goes to stderr.
 *
 *   --against <ref>        reference data: colormnist | cifar10:<dir> | celeba:<dir> | folder:<dir>
 *                          (needed for critic_w and fid, and for the dataset classifier)
 *   --metrics a,b          inception_score, ms_ssim, critic_w, fid (default: all that the options allow)
 *   --classifier <c>       dataset (default with a labelled --against) | mobilenet:<dir> | graph:<dir>
 *   --size N               side length the images are resized to (default: the reference's, else 64)
 *   …                      see usage() for the sample counts, critic steps, seeds and cache
 */
import path from 'node:path';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../../backend/index.js';
import { loadDataset, type DatasetSpec } from '../../data/index.js';
import { readImageFolder } from '../../data/images.js';
import { listImages } from '../../data/image-folder.js';
import { parseCommandLine, type ParsedFlags } from '../args.js';
import { UserError } from '../errors.js';
import type { Dataset } from '../../data/types.js';
import { createRng } from '../../util/rng.js';
import { evaluateGenerator } from '../../../metrics/evaluate-generator.js';
import { loadGraphModelClassifier, loadMobileNetClassifier, type Classifier } from '../../../metrics/classifiers.js';
import { sampleDiversity } from '../../../metrics/diversity.js';
import { inceptionScore } from '../../../metrics/inception-score-images.js';
import { buildIndependentCritic } from '../../models/critic.js';
import { METRIC_NAMES, type EvalProtocol, type MetricName } from '../../../metrics/protocol.js';

function usage(): string {
  return `usage: ganstudy evaluate <folder of images> [options]

Scores the images in the folder (PNG/JPEG/WebP…, centre-cropped and resized) and prints the scores as JSON.

options:
  --against <ref>          colormnist | cifar10:<dir> | celeba:<dir> | folder:<dir>   reference data set
  --metrics <list>         comma-separated: ${METRIC_NAMES.join(', ')} (default: all that apply)
  --classifier <c>         dataset | mobilenet:<dir or URL of model.json> | graph:<dir or URL>
                           (default: dataset when --against has labels)
  --mobilenet-version 1|2  MobileNet version of a mobilenet: classifier (default 1)
  --graph-input-size N     input side of a graph: classifier (default 299)
  --graph-input-range a,b  input range of a graph: classifier (default -1,1)
  --graph-probs-node name  node with the class scores (default: the model output)
  --graph-features-node n  node with the features for FID (default: the class scores)
  --size N                 side length of the images (default: the reference's, else 64)
  --limit N                read at most N images
  --samples N              images used for the Inception score and FID (default: all, at most 10000)
  --splits N               Inception-score splits (default 10)
  --diversity-batches N    MS-SSIM batches (default 5), --diversity-batch-size N (default 64)
  --critic-steps N         independent critic steps (default 1000), --critic-batch-size N (default 64)
  --critic-width x         width multiplier of the critic's conv layers (default 1, the paper's discriminator)
  --classifier-steps N     training steps of the dataset classifier (default 2000; cached)
  --cache-dir <dir>        classifier cache (default .cache/ganstudy)
  --seed N                 (default 0)
  --json                   print the JSON on one line
  --quiet                  no progress on stderr
  -v, --verbose            stack traces on errors
  -h, --help               this text
`;
}

/** whole-number flags ≥ 1, checked before anything loads */
const NUMBER_FLAGS = [
  ...['samples', 'splits', 'diversity-batches', 'critic-steps'],
  ...['critic-batch-size', 'classifier-steps', 'graph-input-size'],
] as const;

const CLI_OPTIONS = {
  against: { type: 'string' },
  metrics: { type: 'string' },
  classifier: { type: 'string' },
  'mobilenet-version': { type: 'string' },
  'graph-input-size': { type: 'string' },
  'graph-input-range': { type: 'string' },
  'graph-probs-node': { type: 'string' },
  'graph-features-node': { type: 'string' },
  size: { type: 'string' },
  limit: { type: 'string' },
  samples: { type: 'string' },
  splits: { type: 'string' },
  'diversity-batches': { type: 'string' },
  'diversity-batch-size': { type: 'string' },
  'critic-steps': { type: 'string' },
  'critic-batch-size': { type: 'string' },
  'critic-width': { type: 'string' },
  'classifier-steps': { type: 'string' },
  'cache-dir': { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

/** a mistake on the command line: one line, exit 2 */
class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2);
  }
}

function intOption(value: string | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) {
    throw new UsageError(`--${flag}: expected a whole number >= ${min}, got "${value}"`);
  }
  return v;
}

/** `colormnist`, `cifar10:<dir>`, `celeba:<dir>`, `folder:<dir>` → a dataset spec. */
export function parseAgainst(ref: string, size: number | undefined): DatasetSpec {
  const i = ref.indexOf(':');
  const name = i < 0 ? ref : ref.slice(0, i);
  const dir = i < 0 ? '' : ref.slice(i + 1);
  switch (name) {
    case 'colormnist':
      return dir ? { name: 'colormnist', mnistDir: dir } : { name: 'colormnist' };
    case 'cifar10':
      if (!dir)
        throw new UsageError('--against cifar10 needs the directory of the binary batches: --against cifar10:<dir>');
      return { name: 'cifar10', dir };
    case 'celeba':
    case 'folder':
      if (!dir) throw new UsageError(`--against ${name} needs an image directory: --against ${name}:<dir>`);
      return { name, dir, ...(size !== undefined ? { size } : {}) };
    default:
      throw new UsageError(
        `--against: unknown reference '${name}'; use colormnist, cifar10:<dir>, celeba:<dir> or folder:<dir>`,
      );
  }
}

function parseMetrics(value: string | undefined): MetricName[] | null {
  if (value === undefined) return null;
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(METRIC_NAMES as readonly string[]).includes(n)) {
      throw new UsageError(`--metrics: unknown metric '${n}'; known: ${METRIC_NAMES.join(', ')}`);
    }
  }
  if (names.length === 0) throw new UsageError('--metrics: give at least one metric');
  return names as MetricName[];
}

async function loadClassifier(
  spec: string,
  values: Record<string, string | boolean | undefined>,
): Promise<Classifier | 'dataset'> {
  if (spec === 'dataset') return 'dataset';
  const i = spec.indexOf(':');
  const kind = i < 0 ? spec : spec.slice(0, i);
  const where = i < 0 ? '' : spec.slice(i + 1);
  if (!where) throw new UsageError(`--classifier ${kind} needs a location: --classifier ${kind}:<dir or URL>`);
  if (kind === 'mobilenet') {
    const version = intOption(values['mobilenet-version'] as string | undefined, 'mobilenet-version', 1);
    if (version !== 1 && version !== 2) throw new UsageError(`--mobilenet-version must be 1 or 2; got ${version}`);
    return loadMobileNetClassifier(where, { version });
  }
  if (kind === 'graph') {
    const range = ((values['graph-input-range'] as string | undefined) ?? '-1,1').split(',').map(Number);
    if (range.length !== 2 || range.some((v) => !Number.isFinite(v)))
      throw new UsageError(`--graph-input-range must be 'low,high'`);
    return loadGraphModelClassifier(where, {
      inputSize: intOption(values['graph-input-size'] as string | undefined, 'graph-input-size', 299),
      inputRange: [range[0], range[1]],
      ...(values['graph-probs-node'] ? { probsNode: values['graph-probs-node'] as string } : {}),
      ...(values['graph-features-node'] ? { featuresNode: values['graph-features-node'] as string } : {}),
    });
  }
  throw new UsageError(`--classifier: unknown kind '${kind}'; use dataset, mobilenet:<dir> or graph:<dir>`);
}

/** The folder's images as a "generator": n of them per call, a seeded draw without replacement while n ≤ count. */
function folderSampler(images: Tensor4D): (n: number, seed: number) => Tensor4D {
  const count = images.shape[0];
  return (n, seed) => {
    const rng = createRng(seed);
    const idx = new Int32Array(n);
    if (n <= count) {
      const order = Int32Array.from({ length: count }, (_, i) => i);
      for (let i = 0; i < n; i++) {
        const j = i + rng.int(count - i);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
        idx[i] = order[i];
      }
    } else {
      for (let i = 0; i < n; i++) idx[i] = rng.int(count);
    }
    return tf.tidy(() => tf.gather(images, tf.tensor1d(idx, 'int32')) as Tensor4D);
  };
}

/** "WxH" strings of the images' own sizes, read from their headers (no decoding) */
async function imageSizes(folder: string, limit: number | undefined): Promise<Map<string, number>> {
  const { default: sharp } = await import('sharp');
  let files = listImages(folder);
  if (limit !== undefined) files = files.slice(0, limit);
  const counts = new Map<string, number>();
  for (const f of files) {
    const m = await sharp(path.join(folder, f.rel)).metadata();
    const key = `${m.width ?? '?'}×${m.height ?? '?'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** what reading the folder at size × size does to its images, in one line */
function resizeNote(counts: Map<string, number>, size: number): string {
  const target = `${size}×${size}`;
  if (counts.size === 1) {
    const [only] = [...counts.keys()];
    if (only === target) return `images are ${target}: used as they are`;
    const [w, h] = only.split('×').map(Number);
    const crop = w === h ? '' : `centre-cropped to ${Math.min(w, h)}×${Math.min(w, h)} and `;
    return `images are ${only}: ${crop}resized to ${target}`;
  }
  const sizes = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const listed = sizes
    .slice(0, 4)
    .map(([k, n]) => `${n} at ${k}`)
    .join(', ');
  return (
    `the folder mixes ${counts.size} image sizes (${listed}${sizes.length > 4 ? ', …' : ''}): ` +
    `each is centre-cropped to a square and resized to ${target}`
  );
}

type EvaluateFlags = ParsedFlags<typeof CLI_OPTIONS>;
type Log = (msg: string) => void;

/** what the command line asks for, checked without loading anything */
interface CheckedFlags {
  sizeFlag: number | undefined;
  requested: MetricName[] | null;
  limit: number | undefined;
  againstSpec: DatasetSpec | undefined;
}

/** the cheap checks first: a typo must not wait for data to load */
function checkFlags(values: EvaluateFlags): CheckedFlags {
  const sizeFlag = values.size !== undefined ? intOption(values.size, 'size', 0, 4) : undefined;
  const requested = parseMetrics(values.metrics);
  const limit = values.limit !== undefined ? intOption(values.limit, 'limit', 1) : undefined;
  for (const flag of NUMBER_FLAGS) intOption(values[flag], flag, 1);
  if (values.seed !== undefined) intOption(values.seed, 'seed', 0, 0);
  intOption(values['diversity-batch-size'], 'diversity-batch-size', 2, 2);
  if (values['critic-width'] !== undefined && !(Number(values['critic-width']) > 0)) {
    throw new UsageError(`--critic-width: expected a number > 0, got "${values['critic-width']}"`);
  }
  const againstSpec = values.against ? parseAgainst(values.against, sizeFlag) : undefined;
  for (const m of requested ?? []) {
    if ((m === 'critic_w' || m === 'fid' || m === 'modes_covered') && !againstSpec) {
      throw new UsageError(`${m} compares with reference images: add --against <data set>`);
    }
  }
  return { sizeFlag, requested, limit, againstSpec };
}

/** the --against data set, or null without one; a load failure is one line */
async function loadReference(
  against: string | undefined,
  spec: DatasetSpec | undefined,
  log: Log,
): Promise<Dataset | null> {
  if (!against || !spec) return null;
  log(`loading the reference data ${against}`);
  try {
    return await loadDataset(spec);
  } catch (e) {
    throw new UserError(`--against ${against}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** the reference must match the side length the images are read at, and be RGB */
function checkReferenceShape(dataset: Dataset | null, size: number): void {
  if (dataset && (dataset.shape[0] !== size || dataset.shape[1] !== size)) {
    throw new UsageError(
      `--size ${size} differs from the reference's ${dataset.shape[0]}×${dataset.shape[1]} images; ` +
        "leave --size out to use the reference's",
    );
  }
  if (dataset && dataset.shape[2] !== 3) {
    throw new UsageError(`the reference has ${dataset.shape[2]} channels; evaluate reads RGB images`);
  }
}

/** the folder's images at size × size, after saying what the resize does to them */
async function readFolder(folder: string, limit: number | undefined, size: number, log: Log): Promise<Tensor4D> {
  let counts: Map<string, number>;
  try {
    counts = await imageSizes(folder, limit);
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]}`);
  }
  if (counts.size === 0) throw new UserError(`${folder} holds no .png, .jpg, .jpeg or .webp image`);
  log(`reading images from ${folder}; ${resizeNote(counts, size)}`);
  const images = await readImageFolder(folder, { size, ...(limit !== undefined ? { limit } : {}) });
  log(`${images.shape[0]} images`);
  return images;
}

/** --classifier, else the data set's own classifier when the reference is labelled, else none */
async function chooseClassifier(
  values: EvaluateFlags,
  dataset: Dataset | null,
  log: Log,
): Promise<Classifier | 'dataset' | undefined> {
  const classifierChoice = values.classifier ?? (dataset?.numClasses ? 'dataset' : undefined);
  const classifier = classifierChoice ? await loadClassifier(classifierChoice, values) : undefined;
  if (classifier === 'dataset' && !dataset) {
    throw new UsageError('--classifier dataset needs --against <labelled data set>');
  }
  if (classifier && classifier !== 'dataset') log(`classifier ${classifier.name}`);
  return classifier;
}

/** the requested metrics, or all that the reference and classifier allow; each checked for what it needs */
function chooseMetrics(requested: MetricName[] | null, dataset: Dataset | null, canClassify: boolean): MetricName[] {
  const metrics: MetricName[] =
    requested ??
    // modes_covered (ColorMNIST only) is computed when asked for
    METRIC_NAMES.filter(
      (m) =>
        m !== 'modes_covered' &&
        (m === 'inception_score'
          ? canClassify
          : m === 'ms_ssim'
            ? true
            : dataset !== null && (m !== 'fid' || canClassify)),
    );
  for (const m of metrics) {
    if ((m === 'critic_w' || m === 'fid' || m === 'modes_covered') && !dataset) {
      throw new UsageError(`${m} compares with reference images: add --against <data set>`);
    }
    if ((m === 'inception_score' || m === 'fid' || m === 'modes_covered') && !canClassify) {
      throw new UsageError(
        `${m} needs a classifier: --classifier mobilenet:<dir>, graph:<dir>, or --against a labelled data set`,
      );
    }
  }
  return metrics;
}

/** the evaluation protocol from the flags, its sample counts capped by the folder's image count */
function buildProtocol(values: EvaluateFlags, count: number): EvalProtocol {
  const samples = intOption(values.samples, 'samples', Math.min(count, 10_000));
  const splits = Math.min(intOption(values.splits, 'splits', 10), samples);
  const diversityBatchSize = Math.min(intOption(values['diversity-batch-size'], 'diversity-batch-size', 64, 2), count);
  const protocol: EvalProtocol = {
    inceptionSamples: samples,
    inceptionSplits: splits,
    diversityBatches: intOption(values['diversity-batches'], 'diversity-batches', 5),
    diversityBatchSize,
    criticSteps: intOption(values['critic-steps'], 'critic-steps', 1000),
    criticBatchSize: intOption(values['critic-batch-size'], 'critic-batch-size', 64),
    criticWidth: values['critic-width'] !== undefined ? Number(values['critic-width']) : 1,
    fidSamples: samples,
    classifierSteps: intOption(values['classifier-steps'], 'classifier-steps', 2000),
  };
  if (!((protocol.criticWidth ?? 1) > 0))
    throw new UsageError(`--critic-width must be a number > 0; got '${values['critic-width']}'`);
  return protocol;
}

interface EvaluationResult {
  scores: Record<string, number>;
  classifier: string | null;
  timings: Record<string, number>;
  criticCurve?: unknown[];
}

interface ScoringInput {
  sample: (n: number, seed: number) => Tensor4D;
  metrics: MetricName[];
  protocol: EvalProtocol;
  classifier: Classifier | 'dataset' | undefined;
  seed: number;
  log: Log;
}

/** with reference data: the whole suite, the critic on the validation split */
function scoreAgainstReference(input: ScoringInput, dataset: Dataset, cacheDir: string): Promise<EvaluationResult> {
  const { sample, metrics, protocol, classifier, seed, log } = input;
  return evaluateGenerator({
    sample,
    // scores against the test split; the critic trains on the validation split (paper-spec §5.3)
    reference: dataset.test,
    criticTrain: dataset.validation,
    classifierData: dataset,
    protocol,
    metrics,
    sampleSeed: seed,
    cacheDir,
    onProgress: log,
    buildCritic: buildIndependentCritic,
    ...(classifier && classifier !== 'dataset' ? { classifier } : {}),
  });
}

/** no reference data: the metrics that need none, on the images alone */
function scoreImagesAlone(input: ScoringInput): EvaluationResult {
  const { sample, metrics, protocol, classifier, seed, log } = input;
  const samples = protocol.inceptionSamples;
  const splits = protocol.inceptionSplits;
  const scores: Record<string, number> = {};
  const timings: Record<string, number> = {};
  const clf = classifier && classifier !== 'dataset' ? classifier : null;
  if (metrics.includes('inception_score') && clf) {
    const t = performance.now();
    log(`inception_score: ${samples} images, ${splits} splits`);
    const is = inceptionScore({ n: samples, source: (start: number, c: number) => sample(c, seed + start) }, clf, {
      splits,
    });
    scores.inception_score = is.mean;
    scores.inception_score_std = is.std;
    timings.inception_score = (performance.now() - t) / 1000;
  }
  if (metrics.includes('ms_ssim')) {
    const t = performance.now();
    log(`ms_ssim: ${protocol.diversityBatches} batches of ${protocol.diversityBatchSize}`);
    scores.ms_ssim = sampleDiversity(sample, {
      batches: protocol.diversityBatches,
      batchSize: protocol.diversityBatchSize,
      seed,
    }).mean;
    timings.ms_ssim = (performance.now() - t) / 1000;
  }
  return { scores, classifier: clf?.name ?? null, timings };
}

export async function run(argv: string[]): Promise<number> {
  const { flags: values, positionals } = parseCommandLine('evaluate', argv, CLI_OPTIONS, {
    min: 1,
    max: 1,
    what: 'folder of images',
  });
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const log: Log = values.quiet ? () => {} : (msg: string) => process.stderr.write(`[evaluate] ${msg}\n`);
  const folder = path.resolve(positionals[0]);
  const { sizeFlag, requested, limit, againstSpec } = checkFlags(values);
  const dataset = await loadReference(values.against, againstSpec, log);
  const size = sizeFlag ?? dataset?.shape[0] ?? 64;
  checkReferenceShape(dataset, size);
  const images = await readFolder(folder, limit, size, log);
  const count = images.shape[0];

  const classifier = await chooseClassifier(values, dataset, log);
  const metrics = chooseMetrics(requested, dataset, classifier !== undefined);
  const protocol = buildProtocol(values, count);
  const seed = intOption(values.seed, 'seed', 0, 0);
  const cacheDir = path.resolve(values['cache-dir'] ?? '.cache/ganstudy');
  const t0 = performance.now();

  const scoring: ScoringInput = { sample: folderSampler(images), metrics, protocol, classifier, seed, log };
  const result = dataset ? await scoreAgainstReference(scoring, dataset, cacheDir) : scoreImagesAlone(scoring);
  if (classifier && classifier !== 'dataset') classifier.dispose();
  images.dispose();

  const out = {
    images: folder,
    count,
    size,
    against: values.against ?? null,
    reference: dataset?.source ?? null,
    metrics,
    classifier: result.classifier,
    scores: result.scores,
    protocol,
    seed,
    seconds: (performance.now() - t0) / 1000,
    timings: result.timings,
    ...(result.criticCurve && result.criticCurve.length > 0 ? { criticCurve: result.criticCurve } : {}),
  };
  process.stdout.write(values.json ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
  return 0;
}
