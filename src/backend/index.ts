/**
 * The single entry point to TensorFlow.js for all of ganstudy. Every module imports `tf` from here,
 * never from a tfjs package directly, so that exactly one backend is loaded per process and the
 * choice is reported in one place.
 *
 * Order: @tensorflow/tfjs-node-gpu (CUDA) → @tensorflow/tfjs-node (native CPU) → @tensorflow/tfjs
 * (pure JavaScript; loud, and refused for training unless explicitly allowed, because its conv2d
 * backward pass is ~10^4× slower than native here).
 *
 * Thread counts are read by libtensorflow from TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS when
 * the first session starts, so they must be set before this module is imported (the sweep scheduler
 * does that for its child processes).
 */
import os from 'node:os';
import type * as TfNode from '@tensorflow/tfjs-node';

export type Tf = typeof TfNode;
export type BackendKind = 'tensorflow-gpu' | 'tensorflow' | 'cpu-js';

interface Loaded {
  tf: Tf;
  kind: BackendKind;
  packageName: string;
  loadErrors: string[];
}

async function loadFirstAvailable(): Promise<Loaded> {
  // libtensorflow prints CPU-feature banners at INFO level on load; keep the console for our progress lines.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // oneDNN kernels are off by default in the libtensorflow build we load; measured on 2 cores (bench/, A/B
  // back to back): DCGAN 28×28 step 1.0 s → 0.75 s. A user can still turn them off with TF_ENABLE_ONEDNN_OPTS=0.
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '1';
  const loadErrors: string[] = [];
  const preferGpu = process.env.GANSTUDY_BACKEND !== 'cpu';
  if (preferGpu) {
    try {
      const tf = (await import('@tensorflow/tfjs-node-gpu' as string)) as Tf;
      return { tf, kind: 'tensorflow-gpu', packageName: '@tensorflow/tfjs-node-gpu', loadErrors };
    } catch (e) {
      // not installed is the normal case on a machine without CUDA; a broken install is worth reporting
      if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND')
        loadErrors.push(`@tensorflow/tfjs-node-gpu: ${firstLine(e)}`);
    }
  }
  if (process.env.GANSTUDY_BACKEND !== 'cpu-js') {
    try {
      const tf = (await import('@tensorflow/tfjs-node')) as Tf;
      return { tf, kind: 'tensorflow', packageName: '@tensorflow/tfjs-node', loadErrors };
    } catch (e) {
      loadErrors.push(`@tensorflow/tfjs-node: ${firstLine(e)}`);
    }
  }
  const tf = (await import('@tensorflow/tfjs')) as unknown as Tf;
  await tf.setBackend('cpu');
  process.stderr.write(
    `[ganstudy] WARNING: native TensorFlow could not be loaded; using the pure-JavaScript CPU backend.\n` +
      loadErrors.map((l) => `  ${l}\n`).join('') +
      `  Run \`npm run setup\` to install the native library. Training is refused on this backend.\n`,
  );
  return { tf, kind: 'cpu-js', packageName: '@tensorflow/tfjs', loadErrors };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}

const loaded = await loadFirstAvailable();

export const tf: Tf = loaded.tf;

export interface BackendInfo {
  backend: BackendKind;
  package: string;
  tfjsVersion: string;
  libtensorflowVersion: string | null;
  intraOpThreads: number;
  interOpThreads: number | null;
  gpu: boolean;
  loadErrors: string[];
}

interface NativeBinding {
  TF_Version?: string;
  isUsingGpuDevice?: () => boolean;
}

export function backendInfo(): BackendInfo {
  const backend = tf.backend() as unknown as { binding?: NativeBinding; isUsingGpuDevice?: boolean };
  const binding = backend.binding;
  const envInt = (name: string): number | null => {
    const v = Number.parseInt(process.env[name] ?? '', 10);
    return Number.isFinite(v) && v > 0 ? v : null;
  };
  return {
    backend: loaded.kind,
    package: loaded.packageName,
    tfjsVersion: tf.version.tfjs,
    libtensorflowVersion: binding?.TF_Version ?? null,
    intraOpThreads: envInt('TF_NUM_INTRAOP_THREADS') ?? os.availableParallelism(),
    interOpThreads: envInt('TF_NUM_INTEROP_THREADS'),
    gpu: loaded.kind === 'tensorflow-gpu' && backend.isUsingGpuDevice === true,
    loadErrors: loaded.loadErrors,
  };
}

export function isNative(): boolean {
  return loaded.kind !== 'cpu-js';
}

/**
 * Training on the pure-JS backend would appear to hang for hours; refuse unless the user asked for it.
 */
export function assertTrainingBackend(allowPureJs = process.env.GANSTUDY_ALLOW_JS_BACKEND === '1'): void {
  if (isNative() || allowPureJs) return;
  throw new Error(
    'Refusing to train on the pure-JavaScript TensorFlow.js backend: a single DCGAN step takes minutes there. ' +
      'Run `npm run setup` to install native TensorFlow (see README), or pass --allow-js-backend ' +
      '(GANSTUDY_ALLOW_JS_BACKEND=1) to train anyway.\n' +
      loaded.loadErrors.join('\n'),
  );
}
