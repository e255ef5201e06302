/**
 * ImageNet classifiers the user supplies (nothing is fetched unless the user gives a URL):
 *
 * - MobileNet through `@tensorflow-models/mobilenet`: a TF.js *graph model* (model.json + weight shards, as TF Hub
 *   serves `imagenet/mobilenet_v{1,2}_*_224/classification`), loaded with `load({version, alpha, modelUrl})`.
 *   Its 1,001 logits (the first is "background") give 1,000 class probabilities by softmax; its embedding
 *   (`infer(x, true)`, the global-pool node) gives the features.
 * - Any TF.js graph model, e.g. Inception-v3 converted by the user with
 *   `tensorflowjs_converter --input_format=tf_saved_model --output_format=tfjs_graph_model <saved_model> <dir>`
 *   (or a frozen graph with `--input_format=tf_frozen_model --output_node_names=...`): `loadGraphModelClassifier`
 *   with the input size and range the network was trained on, and the names of its logits/probabilities and
 *   feature (pool) nodes. The 2015 Inception graph of the original Inception score (`pool_3`, `softmax`,
 *   1,008 outputs) expects [0, 255] inputs at 299×299.
 */
import path from 'node:path';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import type { GraphModel, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import * as mobilenet from '@tensorflow-models/mobilenet';
import { tf } from '../../src/backend/index.js';
import type { Classifier } from './types.js';

type IOHandler = ReturnType<typeof tf.io.fileSystem>;

/** Turns a local directory / model.json path into an IOHandler; leaves http(s) and file:// URLs as they are. */
async function resolveModelSource(
  pathOrUrl: string,
  what: string,
): Promise<{ source: string | IOHandler; label: string }> {
  if (/^https?:\/\//i.test(pathOrUrl) || pathOrUrl.startsWith('file://'))
    return { source: pathOrUrl, label: pathOrUrl };
  const abs = path.resolve(pathOrUrl);
  let file = abs;
  try {
    if ((await stat(abs)).isDirectory()) file = path.join(abs, 'model.json');
    await stat(file);
  } catch {
    throw new Error(
      `${what}: no model at '${file}'. Give a directory holding a TF.js graph model (model.json and its weight shards) ` +
        'or an http(s):// URL of a model.json; ganstudy downloads nothing by itself.',
    );
  }
  return { source: tf.io.fileSystem(file), label: abs };
}

/** [-1, 1] NHWC → RGB at `size`×`size`, in `range` (grey images are repeated over three channels). */
function toNetworkInput(x: Tensor4D, size: number, range: readonly [number, number]): Tensor4D {
  return tf.tidy(() => {
    let rgb: Tensor4D = x;
    if (x.shape[3] === 1) rgb = tf.tile(x, [1, 1, 1, 3]);
    else if (x.shape[3] !== 3)
      throw new Error(`classifier input: images must have 1 or 3 channels; got shape [${x.shape.join(', ')}]`);
    const resized =
      rgb.shape[1] === size && rgb.shape[2] === size ? rgb : tf.image.resizeBilinear(rgb, [size, size], true);
    const [lo, hi] = range;
    return resized
      .add(1)
      .mul((hi - lo) / 2)
      .add(lo) as Tensor4D;
  });
}

const MobileNetOptionsSchema = z.object({
  version: z.union([z.literal(1), z.literal(2)]).default(1),
  alpha: z.union([z.literal(0.25), z.literal(0.5), z.literal(0.75), z.literal(1)]).default(1),
  /** the range the network was trained on: [0, 1] for every TF Hub MobileNet the package knows (its table) */
  inputRange: z
    .tuple([z.number(), z.number()])
    .refine(([lo, hi]) => hi > lo, 'inputRange must be [low, high] with high > low')
    .default([0, 1]),
});
export type MobileNetOptions = z.input<typeof MobileNetOptionsSchema>;

const MOBILENET_SIZE = 224;

/**
 * MobileNet (v1 or v2) from a local directory or a URL the user gives. `version` selects the embedding node the
 * package reads (v1: `…/MobilenetV1/Logits/global_pool`, v2: `…/MobilenetV2/Logits/AvgPool`).
 */
export async function loadMobileNetClassifier(pathOrUrl: string, options: MobileNetOptions = {}): Promise<Classifier> {
  const parsed = MobileNetOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`loadMobileNetClassifier: option '${issue?.path.join('.')}' is invalid: ${issue?.message}`);
  }
  const { version, alpha, inputRange } = parsed.data;
  const { source, label } = await resolveModelSource(pathOrUrl, 'loadMobileNetClassifier');
  // the package maps [0, 255] to the model's inputRange itself ([-1, 1] is its default for custom models)
  const net = await mobilenet.load({ version, alpha, modelUrl: source as never, inputRange });
  const toPixels = (x: Tensor4D): Tensor4D => tf.tidy(() => toNetworkInput(x, MOBILENET_SIZE, [0, 255]));
  const name = `mobilenet-v${version}-${alpha.toFixed(2)}@${label}`;
  const model = (net as unknown as { model?: GraphModel }).model;
  return {
    name,
    numClasses: 1000,
    predictProbs(x) {
      return tf.tidy(() => {
        const logits = net.infer(toPixels(x) as never, false) as unknown as Tensor2D;
        return tf.softmax(logits) as Tensor2D;
      });
    },
    features(x) {
      return tf.tidy(() => {
        const emb = net.infer(toPixels(x) as never, true) as unknown as Tensor;
        return emb.reshape([x.shape[0], -1]) as Tensor2D;
      });
    },
    dispose() {
      model?.dispose();
    },
  };
}

const GraphModelOptionsSchema = z.object({
  /** side length the network expects (Inception-v3: 299; MobileNet: 224) */
  inputSize: z.number().int().positive(),
  /** value range the network expects, e.g. [-1, 1] for Keras/TF-Hub Inception-v3, [0, 255] for the 2015 graph */
  inputRange: z
    .tuple([z.number(), z.number()])
    .refine(([lo, hi]) => hi > lo, 'inputRange must be [low, high] with high > low'),
  /** node whose output holds the class scores; default: the model's (first) output */
  probsNode: z.string().min(1).optional(),
  /** whether that node already holds probabilities (softmax) rather than logits */
  probsAreSoftmax: z.boolean().default(false),
  /** node whose output holds the features (e.g. Inception's pool); flattened per image; default: the class scores */
  featuresNode: z.string().min(1).optional(),
  /** leading outputs to drop (1 for TF-Slim nets with a "background" class) */
  skipClasses: z.number().int().nonnegative().default(0),
  /** a name for the score tags; default `graph-model@<path>` */
  name: z.string().min(1).optional(),
});
export type GraphModelClassifierOptions = z.input<typeof GraphModelOptionsSchema>;

/** Any TF.js graph model (e.g. a user-converted Inception-v3) as a classifier. */
export async function loadGraphModelClassifier(
  pathOrUrl: string,
  options: GraphModelClassifierOptions,
): Promise<Classifier> {
  const parsed = GraphModelOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`loadGraphModelClassifier: option '${issue?.path.join('.')}' is invalid: ${issue?.message}`);
  }
  const o = parsed.data;
  const { source, label } = await resolveModelSource(pathOrUrl, 'loadGraphModelClassifier');
  const model = await tf.loadGraphModel(source);
  const input = (x: Tensor4D): Tensor4D => toNetworkInput(x, o.inputSize, o.inputRange);
  const run = (x: Tensor4D, node: string | undefined): Tensor => {
    const out = node ? model.execute(input(x), node) : model.predict(input(x));
    if (Array.isArray(out)) return out[0]!;
    if (out instanceof tf.Tensor) return out;
    return Object.values(out)[0]!;
  };
  const scores = (x: Tensor4D): Tensor2D => {
    const raw = run(x, o.probsNode).reshape([x.shape[0], -1]) as Tensor2D;
    const kept = o.skipClasses > 0 ? (raw.slice([0, o.skipClasses], [-1, -1]) as Tensor2D) : raw;
    // renormalise after dropping classes so rows still sum to 1
    if (o.probsAreSoftmax) return kept.div(kept.sum(1, true)) as Tensor2D;
    return tf.softmax(kept) as Tensor2D;
  };
  const numClasses = tf.tidy(() => scores(tf.zeros([1, o.inputSize, o.inputSize, 3]) as Tensor4D).shape[1]);
  // probe the feature node now, so a wrong node name fails at load time with the name in the message
  if (o.featuresNode) {
    try {
      tf.tidy(() => run(tf.zeros([1, o.inputSize, o.inputSize, 3]) as Tensor4D, o.featuresNode));
    } catch (e) {
      model.dispose();
      throw new Error(
        `loadGraphModelClassifier: featuresNode '${o.featuresNode}' cannot be evaluated: ${(e as Error).message}`,
      );
    }
  }
  return {
    name: o.name ?? `graph-model@${label}`,
    numClasses,
    predictProbs: (x) => tf.tidy(() => scores(x)),
    features: (x) =>
      tf.tidy(() => (o.featuresNode ? (run(x, o.featuresNode).reshape([x.shape[0], -1]) as Tensor2D) : scores(x))),
    dispose: () => model.dispose(),
  };
}
