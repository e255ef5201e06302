/**
 * The checkpoint format of every model ('ganstudy-model-v1'): a JSON manifest naming each weight and optimizer
 * slot (part, index, name, dtype, shape, byte range) and one binary file holding them all.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend/index.js';
import type { Tensor } from '@tensorflow/tfjs-node';
import type { LayersModel, Optimizer } from './common.js';
import type { ModelConfig } from './types.js';

interface ManifestEntry {
  part: string;
  index: number;
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number;
  length: number;
}
interface Manifest {
  format: 'ganstudy-model-v1';
  model: string;
  arch: unknown;
  seed: number;
  step: number;
  entries: ManifestEntry[];
}

const MANIFEST = 'model.json';
const WEIGHTS = 'weights.bin';

/** What a checkpoint holds besides the weights' values: the model's config and its completed step count. */
export interface CheckpointParts {
  config: ModelConfig;
  step: number;
  networks: Record<string, LayersModel>;
  optimizers: Record<string, Optimizer>;
}

/** Writes every network weight and optimizer slot of `parts` to `dir`. */
export async function saveCheckpoint(dir: string, parts: CheckpointParts): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries: ManifestEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  const add = (part: string, index: number, name: string, t: Tensor) => {
    const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
    const data =
      dtype === 'int32' ? Int32Array.from(t.dataSync() as Int32Array) : Float32Array.from(t.dataSync() as Float32Array);
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ part, index, name, dtype, shape: t.shape.slice(), offset, length: buf.byteLength });
    chunks.push(buf);
    offset += buf.byteLength;
  };
  for (const [part, net] of Object.entries(parts.networks)) {
    net.weights.forEach((w, i) => add(part, i, w.originalName, w.read()));
  }
  for (const [part, opt] of Object.entries(parts.optimizers)) {
    const ws = await opt.getWeights();
    ws.forEach((w, i) => add(`opt:${part}`, i, w.name, w.tensor));
    // getWeights hands out the slot variables themselves (keep them) plus a fresh iteration-count scalar
    tf.dispose(ws.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
  }
  const manifest: Manifest = {
    format: 'ganstudy-model-v1',
    model: parts.config.model,
    arch: parts.config.arch,
    seed: parts.config.seed,
    step: parts.step,
    entries,
  };
  await writeFile(path.join(dir, WEIGHTS), Buffer.concat(chunks));
  await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1));
}

/**
 * Loads a checkpoint written by saveCheckpoint into `parts`' networks and optimizers (after checking that it is
 * for the same model and architecture); returns the checkpoint's step count.
 */
export async function loadCheckpoint(dir: string, parts: Omit<CheckpointParts, 'step'>): Promise<number> {
  const manifestPath = path.join(dir, MANIFEST);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`cannot read checkpoint manifest ${manifestPath}: ${(e as Error).message}`);
  }
  if (manifest.format !== 'ganstudy-model-v1')
    throw new Error(`${manifestPath}: unknown format ${String(manifest.format)}`);
  if (manifest.model !== parts.config.model) {
    throw new Error(
      `${manifestPath}: checkpoint is for model '${manifest.model}', this model is '${parts.config.model}'`,
    );
  }
  if (JSON.stringify(manifest.arch) !== JSON.stringify(parts.config.arch)) {
    throw new Error(
      `${manifestPath}: checkpoint architecture ${JSON.stringify(manifest.arch)} differs from ${JSON.stringify(parts.config.arch)}`,
    );
  }
  const bin = await readFile(path.join(dir, WEIGHTS));
  const tensorOf = (e: ManifestEntry): Tensor => {
    const bytes = bin.subarray(e.offset, e.offset + e.length);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return e.dtype === 'int32'
      ? tf.tensor(new Int32Array(ab), e.shape, 'int32')
      : tf.tensor(new Float32Array(ab), e.shape, 'float32');
  };
  const byPart = new Map<string, ManifestEntry[]>();
  for (const e of manifest.entries) byPart.set(e.part, [...(byPart.get(e.part) ?? []), e]);
  for (const [part, net] of Object.entries(parts.networks)) {
    const es = (byPart.get(part) ?? []).sort((a, b) => a.index - b.index);
    if (es.length !== net.weights.length) {
      throw new Error(
        `${manifestPath}: network '${part}' has ${es.length} weights in the checkpoint, ${net.weights.length} in the model`,
      );
    }
    const ts = es.map(tensorOf);
    net.setWeights(ts);
    tf.dispose(ts);
  }
  for (const [part, opt] of Object.entries(parts.optimizers)) {
    const es = (byPart.get(`opt:${part}`) ?? []).sort((a, b) => a.index - b.index);
    if (es.length === 0) throw new Error(`${manifestPath}: no optimizer state for '${part}'`);
    // setWeights takes ownership (wraps the tensors in new slot variables)
    await opt.setWeights(es.map((e) => ({ name: e.name, tensor: tensorOf(e) })));
  }
  return manifest.step;
}
