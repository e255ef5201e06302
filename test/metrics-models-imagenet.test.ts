/**
 * ImageNet classifiers through the real loading code path, on a MobileNet-shaped model with random weights that the
 * test writes in the format `@tensorflow-models/mobilenet` loads for a custom `modelUrl`: a TF.js *graph model*
 * (model.json with a GraphDef topology + a weights manifest, float32 shards). The graph has the package's contract:
 * a 224×224×3 input, 1,001 logits out (first = background), and the v1 embedding node
 * `module_apply_default/MobilenetV1/Logits/global_pool` (a keep-dims mean) that `infer(x, true)` reads.
 * The classifier's outputs are checked against the same network computed independently in the test with TF ops.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { createRng } from '../src/util/rng.js';
import { readImageFolder, writeImages } from '../src/data/images.js';
import { inceptionScore, loadGraphModelClassifier, loadMobileNetClassifier } from '../metrics/classifiers.js';

const POOL = 'module_apply_default/MobilenetV1/Logits/global_pool';
const LOGITS = 'module_apply_default/MobilenetV1/Logits/SpatialSqueeze';
const C1 = 8; // stem conv width
const C2 = 16; // pointwise width = embedding size

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const ints = (...v: number[]) => ({ list: { i: v.map(String) } });
const F = { type: 'DT_FLOAT' };

interface Weights {
  w1: Float32Array; // [3,3,3,C1]
  dw: Float32Array; // [3,3,C1,1]
  pw: Float32Array; // [1,1,C1,C2]
  wl: Float32Array; // [1,1,C2,1001]
  bl: Float32Array; // [1001]
}

function randomWeights(seed: number): Weights {
  const rng = createRng(seed);
  const r = (n: number, scale: number) => Float32Array.from({ length: n }, () => scale * rng.normal());
  return { w1: r(27 * C1, 0.3), dw: r(9 * C1, 0.3), pw: r(C1 * C2, 0.3), wl: r(C2 * 1001, 3), bl: r(1001, 2) };
}

/** model.json (graph-model format) + one weight shard, as tensorflowjs_converter writes them. */
async function writeMobileNetShapedGraphModel(dir: string, w: Weights): Promise<void> {
  const conv = (name: string, input: string, filter: string, stride: number) => ({
    name,
    op: 'Conv2D',
    input: [input, filter],
    attr: {
      T: F,
      strides: ints(1, stride, stride, 1),
      padding: { s: b64('SAME') },
      data_format: { s: b64('NHWC') },
      dilations: ints(1, 1, 1, 1),
      use_cudnn_on_gpu: { b: true },
    },
  });
  const constNode = (name: string, dtype: string) => ({
    name,
    op: 'Const',
    attr: { dtype: { type: dtype }, value: { tensor: { dtype } } },
  });
  const nodes = [
    {
      name: 'images',
      op: 'Placeholder',
      attr: { dtype: F, shape: { shape: { dim: [{ size: '-1' }, { size: '224' }, { size: '224' }, { size: '3' }] } } },
    },
    constNode('w1', 'DT_FLOAT'),
    constNode('dw', 'DT_FLOAT'),
    constNode('pw', 'DT_FLOAT'),
    constNode('wl', 'DT_FLOAT'),
    constNode('bl', 'DT_FLOAT'),
    constNode('pool_axes', 'DT_INT32'),
    conv('conv0', 'images', 'w1', 2),
    { name: 'relu0', op: 'Relu6', input: ['conv0'], attr: { T: F } },
    {
      name: 'dwconv',
      op: 'DepthwiseConv2dNative',
      input: ['relu0', 'dw'],
      attr: {
        T: F,
        strides: ints(1, 2, 2, 1),
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
        dilations: ints(1, 1, 1, 1),
      },
    },
    { name: 'relu1', op: 'Relu6', input: ['dwconv'], attr: { T: F } },
    conv('pwconv', 'relu1', 'pw', 1),
    { name: 'relu2', op: 'Relu6', input: ['pwconv'], attr: { T: F } },
    {
      name: POOL,
      op: 'Mean',
      input: ['relu2', 'pool_axes'],
      attr: { T: F, Tidx: { type: 'DT_INT32' }, keep_dims: { b: true } },
    },
    conv('logits_conv', POOL, 'wl', 1),
    {
      name: 'logits_bias',
      op: 'BiasAdd',
      input: ['logits_conv', 'bl'],
      attr: { T: F, data_format: { s: b64('NHWC') } },
    },
    { name: LOGITS, op: 'Squeeze', input: ['logits_bias'], attr: { T: F, squeeze_dims: ints(1, 2) } },
  ];
  const specs: { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }[] = [
    { name: 'w1', shape: [3, 3, 3, C1], dtype: 'float32', data: w.w1 },
    { name: 'dw', shape: [3, 3, C1, 1], dtype: 'float32', data: w.dw },
    { name: 'pw', shape: [1, 1, C1, C2], dtype: 'float32', data: w.pw },
    { name: 'wl', shape: [1, 1, C2, 1001], dtype: 'float32', data: w.wl },
    { name: 'bl', shape: [1001], dtype: 'float32', data: w.bl },
    { name: 'pool_axes', shape: [2], dtype: 'int32', data: Int32Array.from([1, 2]) },
  ];
  const shard = Buffer.concat(specs.map((s) => Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength)));
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'ganstudy test (random weights)',
    convertedBy: 'hand-written GraphDef JSON',
    modelTopology: { node: nodes, library: {}, versions: { producer: 27 } },
    weightsManifest: [
      { paths: ['group1-shard1of1.bin'], weights: specs.map(({ name, shape, dtype }) => ({ name, shape, dtype })) },
    ],
  };
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  await writeFile(path.join(dir, 'group1-shard1of1.bin'), shard);
}

/** The same network with TF ops from the weights, on pixels in [lo, hi] at 224×224. */
function reference(x: Tensor4D, w: Weights, range: [number, number]): { logits: Tensor4D; pool: Tensor4D } {
  return tf.tidy(() => {
    const rgb = x.shape[3] === 1 ? tf.tile(x, [1, 1, 1, 3]) : x;
    const resized = tf.image.resizeBilinear(rgb as Tensor4D, [224, 224], true);
    const inp = resized
      .add(1)
      .mul((range[1] - range[0]) / 2)
      .add(range[0]) as Tensor4D;
    const relu6 = (t: Tensor4D) => tf.clipByValue(t, 0, 6) as Tensor4D;
    const a = relu6(tf.conv2d(inp, tf.tensor4d(w.w1, [3, 3, 3, C1]), 2, 'same'));
    const b = relu6(tf.depthwiseConv2d(a, tf.tensor4d(w.dw, [3, 3, C1, 1]), 2, 'same'));
    const c = relu6(tf.conv2d(b, tf.tensor4d(w.pw, [1, 1, C1, C2]), 1, 'same'));
    const pool = c.mean([1, 2], true) as Tensor4D;
    const logits = tf.conv2d(pool, tf.tensor4d(w.wl, [1, 1, C2, 1001]), 1, 'same').add(tf.tensor1d(w.bl)) as Tensor4D;
    return { logits: tf.keep(logits), pool: tf.keep(pool) };
  });
}

describe('ImageNet classifiers from a user-supplied graph model', () => {
  let dir: string;
  const weights = randomWeights(42);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-mobilenet-'));
    await writeMobileNetShapedGraphModel(dir, weights);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loadMobileNetClassifier: 1,000-class probabilities (softmax of logits 1..1000) and the embedding', async () => {
    const clf = await loadMobileNetClassifier(dir);
    expect(clf.name).toBe(`mobilenet-v1-1.00@${dir}`);
    expect(clf.numClasses).toBe(1000);
    const x = tf.randomUniform([5, 28, 28, 3], -1, 1, 'float32', 3) as Tensor4D;
    const probs = clf.predictProbs(x);
    const feats = clf.features(x);
    expect(probs.shape).toEqual([5, 1000]);
    expect(feats.shape).toEqual([5, C2]);
    const rows = probs.sum(1).arraySync() as number[];
    for (const s of rows) expect(s).toBeCloseTo(1, 5);

    // independent computation: the official TF Hub MobileNets take [0, 1], the loader's default
    const ref = reference(x, weights, [0, 1]);
    const refProbs = tf.softmax(ref.logits.reshape([5, 1001]).slice([0, 1], [-1, 1000]));
    const maxDiff = probs.sub(refProbs).abs().max().dataSync()[0];
    const featDiff = feats
      .sub(ref.pool.reshape([5, C2]))
      .abs()
      .max()
      .dataSync()[0];
    expect(maxDiff).toBeLessThan(1e-5);
    expect(featDiff).toBeLessThan(1e-4);
    // random logits of scale ~2 are far from uniform: the softmax really is applied to varying logits
    expect(probs.max().dataSync()[0]).toBeGreaterThan(2 / 1000);
    tf.dispose([x, probs, feats, ref.logits, ref.pool, refProbs]);
    clf.dispose();
  });

  it('loadMobileNetClassifier: grey images are repeated over RGB; inputRange is honoured', async () => {
    const clf = await loadMobileNetClassifier(path.join(dir, 'model.json'), { inputRange: [-1, 1] });
    const grey = tf.randomUniform([2, 16, 16, 1], -1, 1, 'float32', 4) as Tensor4D;
    const probs = clf.predictProbs(grey);
    const ref = reference(grey, weights, [-1, 1]);
    const refProbs = tf.softmax(ref.logits.reshape([2, 1001]).slice([0, 1], [-1, 1000]));
    expect(probs.sub(refProbs).abs().max().dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([grey, probs, ref.logits, ref.pool, refProbs]);
    clf.dispose();
  });

  it('loadGraphModelClassifier: any graph model with named probability and feature nodes', async () => {
    const clf = await loadGraphModelClassifier(dir, {
      inputSize: 224,
      inputRange: [0, 1],
      skipClasses: 1,
      featuresNode: POOL,
      name: 'test-net',
    });
    expect(clf.name).toBe('test-net');
    expect(clf.numClasses).toBe(1000);
    const x = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 5) as Tensor4D;
    const probs = clf.predictProbs(x);
    const feats = clf.features(x);
    const ref = reference(x, weights, [0, 1]);
    const refProbs = tf.softmax(ref.logits.reshape([3, 1001]).slice([0, 1], [-1, 1000]));
    expect(probs.sub(refProbs).abs().max().dataSync()[0]).toBeLessThan(1e-5);
    expect(feats.shape).toEqual([3, C2]);
    expect(
      feats
        .sub(ref.pool.reshape([3, C2]))
        .abs()
        .max()
        .dataSync()[0],
    ).toBeLessThan(1e-4);
    tf.dispose([x, probs, feats, ref.logits, ref.pool, refProbs]);
    clf.dispose();
    await expect(
      loadGraphModelClassifier(dir, { inputSize: 224, inputRange: [0, 1], featuresNode: 'no/such/node' }),
    ).rejects.toThrow(/featuresNode 'no\/such\/node'/);
  });

  it('fails with what to do when the directory has no model', async () => {
    await expect(loadMobileNetClassifier(path.join(dir, 'missing'))).rejects.toThrow(
      /no model at .*missing.*model\.json.*downloads nothing/,
    );
  });

  it('`ganstudy evaluate --classifier mobilenet:<dir>` scores a folder with it (same IS as the library)', async () => {
    const imgDir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-mobilenet-png-'));
    try {
      const x = tf.randomUniform([12, 32, 32, 3], -1, 1, 'float32', 8) as Tensor4D;
      await writeImages(x, imgDir);
      x.dispose();
      const { stdout } = await promisify(execFile)('node_modules/.bin/tsx', [
        'src/cli/main.ts',
        'evaluate',
        imgDir,
        '--classifier',
        `mobilenet:${dir}`,
        '--metrics',
        'inception_score',
        '--splits',
        '1',
        '--size',
        '32',
        '--json',
        '--quiet',
      ]);
      const out = JSON.parse(stdout) as { classifier: string; scores: Record<string, number> };
      expect(out.classifier).toBe(`mobilenet-v1-1.00@${dir}`);
      // one split: the score does not depend on the order in which the CLI draws the images
      const clf = await loadMobileNetClassifier(dir);
      const images = await readImageFolder(imgDir, { size: 32 });
      const ref = inceptionScore(images, clf, 1);
      expect(Math.abs(out.scores.inception_score - ref.mean) / ref.mean).toBeLessThan(1e-5);
      expect(ref.mean).toBeGreaterThan(1);
      images.dispose();
      clf.dispose();
    } finally {
      await rm(imgDir, { recursive: true, force: true });
    }
  });
});
