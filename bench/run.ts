/**
 * `npm run bench`: ganstudy against PyTorch (models) and NumPy/SciPy/PyTorch (metrics) on this machine, in one
 * invocation, so every ratio comes from one run under the same load.
 *
 *   npm run bench                      full run (≈ 8 min on 2 idle cores), writes bench/results/latest.json
 *   npm run bench -- --quick           fewer steps (a smoke run; noisier)
 *   npm run bench -- --only models     or --only metrics
 *   npm run bench -- --profile         also per-kernel times of one step of each model (tf.profile), each DCGAN
 *                                      convolution alone on both sides, and per-op times of the float64 IS kernel
 *   npm run bench -- --out <file>      write the JSON elsewhere
 *   npm run bench -- --models dcgan,age --resolutions 28   subsets (development)
 *
 * Ratios are ganstudy / reference for times (< 1: ganstudy faster) and reference / ganstudy for throughputs
 * (pairs/s), so < 1 always means ganstudy is faster. The PyTorch side gets the same number of threads as
 * libtensorflow's intra-op pool (TF_NUM_INTRAOP_THREADS, default: the machine's cores).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, backendInfo } from '../src/backend/index.js';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { MODEL_NAMES, type ModelName, type Resolution } from '../src/models/types.js';
import { benchCases, conversionMs, profileModel, timeModel } from './models.js';
import { convLayerCases, timeConvLayer } from './conv-layers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

interface Options {
  quick: boolean;
  only: 'models' | 'metrics' | null;
  profile: boolean;
  out: string;
  /** subsets for development runs (default: all four models at 28 and 64) */
  models: ModelName[];
  resolutions: Resolution[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    only: null,
    profile: false,
    out: path.join(here, 'results', 'latest.json'),
    models: [...MODEL_NAMES],
    resolutions: [28, 64],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--only') {
      const v = argv[++i];
      if (v !== 'models' && v !== 'metrics') throw new Error(`--only must be 'models' or 'metrics' (got ${String(v)})`);
      o.only = v;
    } else if (a === '--out') {
      const v = argv[++i];
      if (!v) throw new Error('--out needs a file path');
      o.out = path.resolve(v);
    } else if (a === '--models') {
      const v = (argv[++i] ?? '').split(',');
      const bad = v.filter((m) => !(MODEL_NAMES as readonly string[]).includes(m));
      if (bad.length > 0)
        throw new Error(`--models: unknown model(s) ${bad.join(', ')}; choose from ${MODEL_NAMES.join(', ')}`);
      o.models = v as ModelName[];
    } else if (a === '--resolutions') {
      const v = (argv[++i] ?? '').split(',').map(Number);
      if (v.some((r) => r !== 28 && r !== 32 && r !== 64))
        throw new Error(`--resolutions: use 28, 32 and/or 64 (got ${argv[i]})`);
      o.resolutions = v as Resolution[];
    } else
      throw new Error(
        `unknown option ${a}; use --quick, --only models|metrics, --profile, --models a,b, --resolutions 28,64, --out <file>`,
      );
  }
  return o;
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

function python(): string {
  const venv = path.join(root, '.venv', 'bin', 'python');
  if (existsSync(venv)) return venv;
  return process.env.PYTHON ?? 'python3';
}

/** Run a Python script that prints one JSON object on stdout (its stderr is passed through as progress). */
function runPython<T>(script: string, args: string[], threads: number): T {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const r = spawnSync(python(), [path.join(here, script), ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.error) throw new Error(`could not start ${python()} ${script}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(
      `${script} exited with ${String(r.status)}. Install the reference stack with ` +
        `\`.venv/bin/pip install -r bench/requirements.txt\` (or set PYTHON to an interpreter that has it).`,
    );
  }
  // the JSON object starts at the first line that opens with '{' (the scripts may print it indented)
  const lines = r.stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('{'));
  if (start < 0) throw new Error(`${script} printed no JSON object: ${r.stdout.slice(0, 500)}`);
  try {
    return JSON.parse(lines.slice(start).join('\n')) as T;
  } catch (e) {
    throw new Error(`${script} printed invalid JSON: ${(e as Error).message}`);
  }
}

interface TorchModelsOutput {
  torch: string;
  threads: number;
  interop_threads: number;
  mkldnn: boolean;
  metrics: Record<string, number>;
  results: {
    model: ModelName;
    resolution: Resolution;
    ms_per_step: number;
    ms_min: number;
    times_ms: number[];
    params: Record<string, number>;
    finite: boolean;
    profile: { op: string; ms: number; calls: number }[] | null;
  }[];
}

interface ModelRow {
  model: ModelName;
  resolution: Resolution;
  ganstudyMs: number;
  pytorchMs: number;
  ratio: number;
  ganstudyTimesMs: number[];
  pytorchTimesMs: number[];
  paramsGanstudy: Record<string, number>;
  paramsPytorch: Record<string, number>;
  paramsMatch: boolean;
  /** per-op time of one step, top 15 (with --profile) */
  profileGanstudy?: { kernel: string; ms: number; calls: number }[];
  profilePytorch?: { op: string; ms: number; calls: number }[];
}

interface MetricRow {
  metric: string;
  unit: string;
  ganstudy: number;
  reference: number;
  referenceImpl: string;
  /** < 1: ganstudy faster */
  ratio: number;
}

const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

/**
 * Each case runs on both sides back to back (ganstudy, then PyTorch in a child process) so that a ratio is
 * measured under the same machine load; `onRow` sees every finished row (run.ts saves partial results).
 */
async function benchModels(o: Options, threads: number, onRow: (rows: ModelRow[]) => Promise<void>) {
  const cases = benchCases(o.resolutions, o.models);
  // a full run must stay within ~8 min on 2 cores: WGAN-GP 64×64 alone takes tens of seconds per step there,
  // so the number of timed steps adapts to the step cost (PyTorch then times the same number)
  const warmup = 1;
  const timing = o.quick ? { minSteps: 1, maxSteps: 2, targetMs: 2000 } : { minSteps: 2, maxSteps: 5, targetMs: 8000 };
  const rows: ModelRow[] = [];
  let torchInfo = { version: '', threads: 0, interopThreads: 0, mkldnn: false };
  for (const c of cases) {
    const t = timeModel(c, { warmup, ...timing });
    const steps = t.timesMs.length;
    log(
      `ganstudy ${c.model} ${c.arch.resolution}×${c.arch.resolution} (rows ${c.rows}): ${fmt(t.msPerStep)} ms/step [${t.timesMs.map((x) => x.toFixed(0)).join(', ')}]`,
    );
    const config = {
      threads,
      warmup,
      steps,
      seed: 1,
      profileSteps: o.profile ? 1 : 0,
      cases: [{ model: c.model, arch: c.arch, hp: c.hp, rows: c.rows }],
    };
    const torch = runPython<TorchModelsOutput>('torch_models.py', ['--config', JSON.stringify(config)], threads);
    torchInfo = {
      version: torch.torch,
      threads: torch.threads,
      interopThreads: torch.interop_threads,
      mkldnn: torch.mkldnn,
    };
    const p = torch.results[0];
    if (!p) throw new Error(`torch_models.py returned no result for ${c.model} ${c.arch.resolution}`);
    const keys = new Set([...Object.keys(t.params), ...Object.keys(p.params)]);
    const row: ModelRow = {
      model: t.model,
      resolution: t.resolution,
      ganstudyMs: t.msPerStep,
      pytorchMs: p.ms_per_step,
      ratio: t.msPerStep / p.ms_per_step,
      ganstudyTimesMs: t.timesMs,
      pytorchTimesMs: p.times_ms,
      paramsGanstudy: t.params,
      paramsPytorch: p.params,
      paramsMatch: [...keys].every((k) => t.params[k] === p.params[k]),
    };
    if (o.profile) {
      row.profileGanstudy = (await profileModel(c)).slice(0, 15);
      row.profilePytorch = p.profile ?? undefined;
    }
    log(
      `→ ${c.model} ${c.arch.resolution}: ratio ${fmt(row.ratio, 2)}${row.paramsMatch ? '' : ' (PARAMETER COUNTS DIFFER)'}`,
    );
    rows.push(row);
    await onRow(rows);
  }
  const conversion = { 28: conversionMs(28), 64: conversionMs(64) };
  return { rows, warmup, timing, torch: torchInfo, conversion };
}

/** IS of 10,000 images incl. the dataset classifier's forward pass, and the independent critic's step time. */
async function benchMetricsEndToEnd(o: Options): Promise<Record<string, number>> {
  const { loadDataset } = await import('../src/data/index.js');
  const { getDatasetClassifier, inceptionScore, independentCritic } = await import('../metrics/index.js');
  const out: Record<string, number> = {};
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-bench-'));
  try {
    const mnist = await loadDataset({ name: 'colormnist', limit: 2000 });
    // 1 training step is enough: the timing does not depend on the weights
    const classifier = await getDatasetClassifier(mnist, { steps: 1, seed: 1, cacheDir });
    const images = tf.randomUniform([10_000, 28, 28, 3], -1, 1, 'float32', 3) as Tensor4D;
    inceptionScore(images, classifier, { splits: 10, batchSize: 500 }); // warm-up
    const t0 = performance.now();
    inceptionScore(images, classifier, { splits: 10, batchSize: 500 });
    out.is_classifier_10000_ms = performance.now() - t0;
    images.dispose();
    log(`IS incl. classifier forward, 10,000 images 28×28×3: ${fmt(out.is_classifier_10000_ms, 0)} ms`);

    for (const res of [28, 64] as const) {
      const ds = await loadDataset({ name: 'synthetic', resolution: res, size: 600, seed: 1 });
      const pool = tf.randomUniform([64, res, res, 3], -1, 1, 'float32', 5) as Tensor4D;
      const sample = (n: number) => tf.slice(pool, 0, Math.min(n, 64)) as Tensor4D;
      const { buildIndependentCritic: buildCritic } = await import('../src/models/index.js');
      const run = async (steps: number) => {
        const t = performance.now();
        await independentCritic({
          sample,
          train: ds.validation,
          evalSplit: ds.test,
          steps,
          seed: 1,
          buildCritic,
          width: 1,
          evalSamples: 64,
        });
        return performance.now() - t;
      };
      // per-step time = slope between a short and a longer run (set-up and final estimates cancel)
      const a = 1;
      const b = o.quick ? 2 : 3;
      await run(1); // warm-up
      const ta = await run(a);
      const tb = await run(b);
      out[`critic_step_${res}_ms`] = (tb - ta) / (b - a);
      pool.dispose();
      log(`independent critic step ${res}×${res}: ${fmt(out[`critic_step_${res}_ms`]!, 0)} ms`);
    }
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
  return out;
}

/** IS-from-probs and FID rows of one float64 provider (keys tagged by `tag` in bench/metrics-core.ts). */
function float64Rows(
  ours: Record<string, number>,
  ref: Record<string, number>,
  fidLabel: string,
  tag: string,
  provider: string,
): MetricRow[] {
  const row = (metric: string, unit: string, key: string, refKey: string, referenceImpl: string): MetricRow => ({
    metric: `${metric} (${provider})`,
    unit,
    ganstudy: ours[key]!,
    reference: ref[refKey]!,
    referenceImpl,
    ratio: ours[key]! / ref[refKey]!,
  });
  return [
    row('IS from probs 10,000×10', 'ms', `is_10000x10${tag}_ms`, 'is_10000x10_ms', 'NumPy (improved-gan)'),
    row('IS from probs 10,000×1,000', 'ms', `is_10000x1000${tag}_ms`, 'is_10000x1000_ms', 'NumPy (improved-gan)'),
    row(fidLabel, 's', `fid_total${tag}_s`, 'fid_total_s', 'NumPy cov + scipy.linalg.sqrtm (pytorch-fid)'),
  ];
}

interface ConvLayerRow {
  layer: string;
  resolution: 28 | 64;
  ganstudyMs: number;
  pytorchMs: number;
  ratio: number;
}

/** Each DCGAN convolution alone (forward and both gradients) on both sides: with --profile. */
function benchConvLayers(o: Options, threads: number): ConvLayerRow[] {
  const rows: ConvLayerRow[] = [];
  for (const res of o.resolutions.filter((r): r is 28 | 64 => r === 28 || r === 64)) {
    const cases = convLayerCases(res);
    log(`convolution layers ${res}×${res}: ${cases.length} cases`);
    const torch = runPython<{ ms: Record<string, number> }>('conv_layers.py', [JSON.stringify(cases)], threads);
    for (const c of cases) {
      const ganstudyMs = timeConvLayer(c);
      const pytorchMs = torch.ms[c.name]!;
      rows.push({ layer: c.name, resolution: res, ganstudyMs, pytorchMs, ratio: ganstudyMs / pytorchMs });
    }
  }
  return rows;
}

async function benchMetrics(o: Options, threads: number) {
  const rows: MetricRow[] = [];
  const ours: Record<string, number> = {};
  const ref: Record<string, number> = {};
  const core = await import('./metrics-core.js').catch(() => null);
  if (core && existsSync(path.join(here, 'reference_metrics.py'))) {
    Object.assign(
      ours,
      await core.benchMetricsCore({ ...(o.quick ? { fidRows: 2000, fidDim: 512 } : {}), profile: o.profile }),
    );
    Object.assign(ref, runPython<Record<string, number>>('reference_metrics.py', o.quick ? ['--small'] : [], threads));
    const fidLabel = o.quick ? 'FID 2,000×512 features' : 'FID 10,000×2,048 features';
    rows.push(
      {
        metric: 'MS-SSIM 64×64×3 (compare_gan)',
        unit: 'pairs/s',
        ganstudy: ours.msssim_pairs_per_s!,
        reference: ref.msssim_pairs_per_s!,
        referenceImpl: 'NumPy/SciPy fftconvolve, float64',
        ratio: ref.msssim_pairs_per_s! / ours.msssim_pairs_per_s!,
      },
      ...float64Rows(ours, ref, fidLabel, '', 'libtensorflow float64'),
      ...float64Rows(ours, ref, fidLabel, '_js', 'JavaScript float64'),
    );
  } else {
    log('bench/metrics-core.ts or bench/reference_metrics.py missing: MS-SSIM / IS-from-probs / FID rows skipped');
  }
  Object.assign(ours, await benchMetricsEndToEnd(o));
  const torch = runPython<TorchModelsOutput>(
    'torch_models.py',
    [
      '--config',
      JSON.stringify({
        threads,
        warmup: 1,
        steps: 0,
        metrics: { isImages: 10_000, isBatch: 500, criticResolutions: [28, 64], criticSteps: o.quick ? 1 : 2 },
      }),
    ],
    threads,
  );
  Object.assign(ref, Object.fromEntries(Object.entries(torch.metrics).map(([k, v]) => [`torch_${k}`, v])));
  rows.push({
    metric: 'IS 10,000 images 28×28×3 incl. dataset classifier',
    unit: 'ms',
    ganstudy: ours.is_classifier_10000_ms!,
    reference: torch.metrics.is_classifier_10000_ms!,
    referenceImpl: 'PyTorch forward + NumPy IS',
    ratio: ours.is_classifier_10000_ms! / torch.metrics.is_classifier_10000_ms!,
  });
  for (const res of [28, 64]) {
    const k = `critic_step_${res}_ms`;
    rows.push({
      metric: `independent critic step ${res}×${res}×3 (GP, batch 64)`,
      unit: 'ms',
      ganstudy: ours[k]!,
      reference: torch.metrics[k]!,
      referenceImpl: 'PyTorch autograd.grad(create_graph)',
      ratio: ours[k]! / torch.metrics[k]!,
    });
  }
  return { rows, ganstudy: ours, reference: ref };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function printTable(header: string[], rows: string[][]): void {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => pad(c, w[i]!, i > 1)).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const info = backendInfo();
  if (info.backend === 'cpu-js')
    throw new Error('npm run bench needs the native backend (npm run setup); the pure-JS backend is ~10^4× slower');
  const threads = info.intraOpThreads;
  const started = new Date();
  const load = os.loadavg();
  log(
    `backend ${info.backend}, tfjs ${info.tfjsVersion}, libtensorflow ${info.libtensorflowVersion ?? '?'}, ${threads} intra-op threads, ${os.availableParallelism()} cores, load ${load.map((x) => x.toFixed(1)).join(' ')}`,
  );
  const t0 = performance.now();
  const base = {
    date: started.toISOString(),
    quick: o.quick,
    only: o.only,
    machine: {
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? null,
      loadAverageAtStart: load,
      platform: `${os.platform()} ${os.release()}`,
    },
    versions: {
      node: process.version,
      tfjs: info.tfjsVersion,
      libtensorflow: info.libtensorflowVersion,
      backend: info.backend,
    },
  };
  await mkdir(path.dirname(o.out), { recursive: true });
  // partial results are saved as rows finish, so an interrupted run still leaves its numbers
  const savePartial = async (rows: ModelRow[]) =>
    writeFile(o.out, JSON.stringify({ ...base, complete: false, models: { rows } }, null, 1) + '\n');
  const models = o.only === 'metrics' ? null : await benchModels(o, threads, savePartial);
  const convLayers = models && o.profile ? benchConvLayers(o, threads) : null;
  const metrics = o.only === 'models' ? null : await benchMetrics(o, threads);
  const wallS = (performance.now() - t0) / 1000;

  console.log(
    `\nganstudy bench — ${started.toISOString()}, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), ${threads} threads per side, load average at start ${load[0]!.toFixed(1)}${o.quick ? ', --quick' : ''}`,
  );
  if (models) {
    const headline = models.rows.find((r) => r.model === 'dcgan' && r.resolution === 28);
    if (headline) {
      console.log(
        `\nHEADLINE DCGAN 28×28×3 batch 64 training step: ganstudy ${fmt(headline.ganstudyMs)} ms, PyTorch ${fmt(headline.pytorchMs)} ms, ratio ${fmt(headline.ratio, 2)} (< 1: ganstudy faster)`,
      );
    }
    console.log(
      `\nTraining step, batch 64, default hyperparameters (median of the timed steps after ${models.warmup} warm-up; steps per case: ${models.rows.map((r) => r.ganstudyTimesMs.length).join('/')})`,
    );
    printTable(
      ['model', 'res', 'ganstudy ms', 'PyTorch ms', 'ratio', 'params G/D/E/C (both sides)'],
      models.rows.map((r) => [
        r.model,
        `${r.resolution}×${r.resolution}`,
        fmt(r.ganstudyMs),
        fmt(r.pytorchMs),
        fmt(r.ratio, 2),
        Object.entries(r.paramsGanstudy)
          .map(([k, v]) => `${k} ${v}`)
          .join(' ') + (r.paramsMatch ? ' (match)' : ` ≠ PyTorch ${JSON.stringify(r.paramsPytorch)}`),
      ]),
    );
    console.log(
      `geometric mean ratio: ${fmt(Math.exp(models.rows.reduce((s, r) => s + Math.log(r.ratio), 0) / models.rows.length), 2)}`,
    );
    for (const r of models.rows) {
      if (!r.profileGanstudy) continue;
      console.log(`\nper-op time of one ${r.model} ${r.resolution}×${r.resolution} step (ms, calls)`);
      const n = Math.max(r.profileGanstudy.length, r.profilePytorch?.length ?? 0);
      const lines: string[][] = [];
      for (let i = 0; i < Math.min(n, 10); i++) {
        const g = r.profileGanstudy[i];
        const p = r.profilePytorch?.[i];
        lines.push([
          g ? g.kernel : '',
          g ? `${fmt(g.ms)} ×${g.calls}` : '',
          p ? p.op : '',
          p ? `${fmt(p.ms)} ×${p.calls}` : '',
        ]);
      }
      printTable(['tfjs kernel', 'ms ×calls', 'PyTorch op', 'ms ×calls'], lines);
    }
    if (convLayers) {
      console.log('\neach DCGAN convolution alone, batch 64: forward + input and kernel gradients (median ms)');
      printTable(
        ['layer', 'res', 'ganstudy ms', 'PyTorch ms', 'ratio'],
        convLayers.map((r) => [r.layer, `${r.resolution}`, fmt(r.ganstudyMs), fmt(r.pytorchMs), fmt(r.ratio, 2)]),
      );
    }
    console.log(
      `data conversion (Float32Array → tensor, batch 64): 28×28 ${fmt(models.conversion[28].toTensorMs, 2)} ms, 64×64 ${fmt(models.conversion[64].toTensorMs, 2)} ms`,
    );
  }
  if (metrics) {
    console.log('\nMetrics');
    printTable(
      ['metric', 'unit', 'ganstudy', 'reference', 'ratio', 'reference implementation'],
      metrics.rows.map((r) => [
        r.metric,
        r.unit,
        fmt(r.ganstudy, 1),
        fmt(r.reference, 1),
        fmt(r.ratio, 2),
        r.referenceImpl,
      ]),
    );
    console.log('ratio < 1: ganstudy faster (times: ganstudy/reference; pairs/s: reference/ganstudy)');
  }
  console.log(`\nwall time ${fmt(wallS, 0)} s`);

  const result = {
    ...base,
    complete: true,
    wallSeconds: wallS,
    machine: { ...base.machine, loadAverageAtEnd: os.loadavg() },
    versions: { ...base.versions, torch: models?.torch.version ?? null },
    threads: {
      tensorflowIntraOp: threads,
      torch: models?.torch.threads ?? threads,
      torchInterop: models?.torch.interopThreads ?? null,
    },
    models: models
      ? { warmup: models.warmup, timing: models.timing, rows: models.rows, conversionMs: models.conversion }
      : null,
    convLayers,
    metrics,
  };
  await writeFile(o.out, JSON.stringify(result, null, 1) + '\n');
  log(`wrote ${path.relative(process.cwd(), o.out)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`[bench] ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
