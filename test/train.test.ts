/**
 * The trainer with real components: native TensorFlow, the real models at their narrowest width on the synthetic
 * set, checkpoints and PNGs written to a temporary folder.
 *
 * Resume tolerance: 1e-5 relative (+1e-6 absolute). A resumed run reloads exactly the bytes it saved (weights,
 * Adam slots and iteration count, batch-norm moving statistics), sees the same batches (batch index = step) and
 * the same random draws (the model derives them from (seed, step)), so the losses are expected to be bit-identical;
 * the tolerance only allows for libtensorflow choosing a different reduction order between two processes or
 * thread schedules (Eigen's multi-threaded reductions), which does not happen in one single process here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/backend/index.js';
import { loadDataset, type Dataset, type DatasetSplit } from '../src/data/index.js';
import { createModel, defaultHyperparameters } from '../src/models/index.js';
import type { GanModel, Losses, ModelHyperparameters, ModelName } from '../src/models/types.js';
import {
  latestCheckpoint,
  meanLosses,
  rowsPerStep,
  stepsFor,
  train,
  TRAINER_STATE_FILE,
  type TrainFor,
} from '../src/train/index.js';
import type { TrainEvent, TrainOptions } from '../src/train/types.js';
import { createProgressLine, formatDuration } from '../src/cli/progress.js';

let tmp: string;
let data: Dataset;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ganstudy-train-'));
  data = await loadDataset({ name: 'synthetic', resolution: 28, channels: 3, size: 256, seed: 0 });
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = (label: string): string => path.join(tmp, `${label}-${dirCount++}`);

function tinyModel(model: ModelName = 'dcgan', seed = 1, hp: Partial<ModelHyperparameters> = {}): GanModel {
  return createModel({
    model,
    arch: { resolution: 28, channels: 3, zDim: 16, widthMultiplier: 0.125 },
    hp: { ...defaultHyperparameters(model), batchSize: 8, ...hp },
    seed,
  });
}

interface Recorded {
  events: TrainEvent[];
  /** per-step losses from progress events of a logEvery = 1 run */
  losses: Map<number, Losses>;
}

async function run(
  model: GanModel,
  runDir: string,
  steps: number,
  extra: Partial<TrainOptions> = {},
): Promise<Recorded & { result: Awaited<ReturnType<typeof train>> }> {
  const events: TrainEvent[] = [];
  const losses = new Map<number, Losses>();
  const result = await train({
    model,
    data: data.train,
    steps,
    seed: 7,
    runDir,
    checkpointEvery: 3,
    sampleEvery: 0,
    logEvery: 1,
    ...extra,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'progress') losses.set(e.step, e.losses);
      extra.onEvent?.(e);
    },
  });
  return { events, losses, result };
}

function expectClose(actual: Losses, expected: Losses, rel = 1e-5, abs = 1e-6): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) {
    const a = actual[k];
    expect(Math.abs(a - v), `${k}: ${a} vs ${v}`).toBeLessThanOrEqual(abs + rel * Math.abs(v));
  }
}

describe('seeding', () => {
  it('the same seed gives the same first losses; another seed gives different ones', async () => {
    const a = await run(tinyModel('dcgan', 1), freshDir('seed-a'), 3);
    const b = await run(tinyModel('dcgan', 1), freshDir('seed-b'), 3);
    const c = await run(tinyModel('dcgan', 2), freshDir('seed-c'), 3);
    for (const s of [1, 2, 3]) expectClose(b.losses.get(s)!, a.losses.get(s)!, 0, 0);
    expect(c.losses.get(1)!.d).not.toBe(a.losses.get(1)!.d);
  });
});

describe('resume', () => {
  // WGAN-GP with nD = 2 reads two minibatches per step: checks that the stream position counts rows correctly
  for (const [name, hp] of [
    ['dcgan', {}],
    ['wgan-gp', { nD: 2 }],
  ] as const) {
    it(`${name}: stop after k steps and resume to k+m gives the uninterrupted run's losses`, async () => {
      const k = 3;
      const total = 6;
      const full = await run(tinyModel(name, 3, hp), freshDir(`full-${name}`), total);
      expect(full.result.status).toBe('finished');

      const dir = freshDir(`resumed-${name}`);
      const first = await run(tinyModel(name, 3, hp), dir, k);
      expect(first.result).toMatchObject({ status: 'finished', step: k, resumedFrom: null });
      expect(await latestCheckpoint(dir)).toEqual({ step: k, dir: path.join(dir, 'checkpoints', `step-${k}`) });

      // a fresh model object, as a new process would build it
      const second = await run(tinyModel(name, 3, hp), dir, total);
      expect(second.result).toMatchObject({ status: 'finished', step: total, resumedFrom: k });
      expect(second.events[0]).toEqual({ type: 'start', step: k, totalSteps: total, resumedFrom: k });
      expect([...second.losses.keys()]).toEqual([4, 5, 6]);
      for (let s = k + 1; s <= total; s++) expectClose(second.losses.get(s)!, full.losses.get(s)!);
    });
  }

  it('an abort signal checkpoints the current step; resuming continues the same trajectory', async () => {
    const full = await run(tinyModel('dcgan', 4), freshDir('abort-full'), 5);
    const dir = freshDir('abort');
    const controller = new AbortController();
    const stopped = await run(tinyModel('dcgan', 4), dir, 5, {
      checkpointEvery: 100,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.step === 2) controller.abort();
      },
    });
    expect(stopped.result.status).toBe('aborted');
    expect(stopped.result.step).toBe(2);
    expect(stopped.events.filter((e) => e.type === 'checkpoint')).toEqual([
      { type: 'checkpoint', step: 2, dir: path.join(dir, 'checkpoints', 'step-2') },
    ]);
    const resumed = await run(tinyModel('dcgan', 4), dir, 5);
    expect(resumed.result.resumedFrom).toBe(2);
    for (const s of [3, 4, 5]) expectClose(resumed.losses.get(s)!, full.losses.get(s)!);
  });

  it('refuses a checkpoint whose data stream differs (other batch size)', async () => {
    const dir = freshDir('mismatch');
    await run(tinyModel('dcgan', 5), dir, 1, { checkpointEvery: 1 });
    await expect(run(tinyModel('dcgan', 5, { batchSize: 4 }), dir, 2)).rejects.toThrow(/rows per step/);
  });
});

describe('divergence', () => {
  it('stops at the first non-finite loss, reports that step and does not checkpoint the bad state', async () => {
    const dir = freshDir('diverge');
    // Adam moves each weight by about lr per step whatever the gradient: 1e30 overflows activations at once
    const r = await run(tinyModel('dcgan', 6, { lrG: 1e30, lrD: 1e30 }), dir, 20, { checkpointEvery: 1 });
    expect(r.result.status).toBe('diverged');
    const at = r.result.step;
    const diverged = r.events.filter((e) => e.type === 'diverged');
    expect(diverged).toHaveLength(1);
    expect(diverged[0]).toMatchObject({ type: 'diverged', step: at });
    const bad = (diverged[0] as Extract<TrainEvent, { type: 'diverged' }>).losses;
    expect(Object.values(bad).some((v) => !Number.isFinite(v))).toBe(true);
    // every step before it was finite and was reported
    for (let s = 1; s < at; s++) expect(Object.values(r.losses.get(s)!).every(Number.isFinite)).toBe(true);
    expect(r.losses.has(at)).toBe(false);
    const latest = await latestCheckpoint(dir);
    expect(latest === null ? 0 : latest.step).toBe(at - 1);
    expect(r.result.checkpointDir).toBe(latest?.dir ?? null);
  });
});

describe('checkpoints, samples, progress, memory', () => {
  it('keeps the last two checkpoints with model and trainer state; latestCheckpoint finds the newest', async () => {
    const dir = freshDir('ckpt');
    const r = await run(tinyModel('dcgan', 8), dir, 7, { checkpointEvery: 2 });
    expect(r.events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([2, 4, 6, 7]);
    const names = fs.readdirSync(path.join(dir, 'checkpoints')).sort();
    expect(names).toEqual(['step-6', 'step-7']);
    for (const f of ['model.json', 'weights.bin', TRAINER_STATE_FILE])
      expect(fs.existsSync(path.join(dir, 'checkpoints', 'step-7', f))).toBe(true);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'step-7', TRAINER_STATE_FILE), 'utf8')) as {
      step: number;
      nextBatch: number;
      rowsPerStep: number;
    };
    expect(state).toMatchObject({ step: 7, nextBatch: 7, rowsPerStep: 8 });
    expect(await latestCheckpoint(dir)).toEqual({ step: 7, dir: path.join(dir, 'checkpoints', 'step-7') });
    // an incomplete folder (no trainer state, as after a crash mid-write) is not a checkpoint
    fs.mkdirSync(path.join(dir, 'checkpoints', 'step-9'));
    expect((await latestCheckpoint(dir))?.step).toBe(7);
    expect(await latestCheckpoint(freshDir('empty'))).toBeNull();
    expect(r.result.checkpointDir).toBe(path.join(dir, 'checkpoints', 'step-7'));
  });

  it('writes sample grids that decode to 8 × 8 images of 28 × 28 with 2-pixel padding', async () => {
    const dir = freshDir('samples');
    const r = await run(tinyModel('dcgan', 9), dir, 4, { sampleEvery: 2 });
    const files = r.events.filter((e) => e.type === 'samples').map((e) => (e as { path: string }).path);
    expect(files).toEqual([2, 4].map((s) => path.join(dir, 'samples', `step-${s}.png`)));
    const meta = await sharp(files[1]).metadata();
    const side = 8 * (28 + 2) + 2;
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', side, side, 3]);
  });

  it('progress events carry window means, rates and an ETA that reaches 0', async () => {
    const perStep = await run(tinyModel('dcgan', 10), freshDir('prog-1'), 6);
    const windowed = await run(tinyModel('dcgan', 10), freshDir('prog-3'), 6, { logEvery: 3 });
    const progress = windowed.events.filter(
      (e): e is Extract<TrainEvent, { type: 'progress' }> => e.type === 'progress',
    );
    expect(progress.map((e) => e.step)).toEqual([3, 6]);
    for (const e of progress) {
      expect(e.totalSteps).toBe(6);
      expect(e.stepsPerSec).toBeGreaterThan(0);
      expect(Number.isFinite(e.etaSec)).toBe(true);
      expect(e.etaSec).toBeGreaterThanOrEqual(0);
      // the window mean, computed here from the logEvery = 1 run of the same seed
      const steps = [e.step - 2, e.step - 1, e.step].map((s) => perStep.losses.get(s)!);
      const expected: Losses = {};
      for (const k of Object.keys(steps[0])) expected[k] = (steps[0][k] + steps[1][k] + steps[2][k]) / 3;
      expectClose(e.losses, expected);
    }
    expect(progress[1].etaSec).toBe(0);
    expect(meanLosses([{ a: 1, b: 2 }, { a: 3 }])).toEqual({ a: 2, b: 2 });
  });

  it('keeps the tensor count flat over training', async () => {
    const counts: number[] = [];
    await run(tinyModel('alpha-gan', 11), freshDir('memory'), 8, {
      checkpointEvery: 4,
      sampleEvery: 4,
      onEvent: (e) => {
        if (e.type === 'progress') counts.push(tf.memory().numTensors);
      },
    });
    // step 1 creates the optimizers' slot variables; from step 2 on nothing may accumulate
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it('rowsPerStep gives each real-image sub-update its own minibatch', () => {
    const hp = { ...defaultHyperparameters('wgan-gp'), batchSize: 64 };
    expect(rowsPerStep({ model: 'wgan-gp', hp })).toBe(5 * 64);
    expect(rowsPerStep({ model: 'dcgan', hp: { ...hp, nD: 1 } })).toBe(64);
    expect(rowsPerStep({ model: 'alpha-gan', hp: { ...hp, nG: 3, nD: 1 } })).toBe(3 * 64);
  });
});

describe('budgets and work counters', () => {
  const B = 64;
  const hpOf = (model: ModelName, hp: Partial<ModelHyperparameters> = {}) => ({
    ...defaultHyperparameters(model),
    batchSize: B,
    ...hp,
  });
  // steps = ceil(amount / work per step); work per step from each model's schedule (nG, nD, rows per step)
  const table: [ModelName, Partial<ModelHyperparameters>, TrainFor, number][] = [
    ['dcgan', {}, { unit: 'generator_updates', amount: 200_000 }, 200_000],
    ['dcgan', {}, { unit: 'examples_seen', amount: 6_400_000 }, 100_000], // 64 rows per step
    ['wgan-gp', {}, { unit: 'generator_updates', amount: 200_000 }, 200_000], // 1 G update, 5 critic updates
    ['wgan-gp', {}, { unit: 'examples_seen', amount: 6_400_000 }, 20_000], // 5 × 64 rows per step
    ['age', {}, { unit: 'generator_updates', amount: 200_000 }, 100_000], // nG = 2
    ['age', {}, { unit: 'generator_updates', amount: 5 }, 3], // rounds up: the budget is reached, not cut short
    ['age', {}, { unit: 'examples_seen', amount: 6_400_000 }, 100_000], // 1 encoder update reads real images
    ['alpha-gan', {}, { unit: 'generator_updates', amount: 200_000 }, 200_000],
    ['alpha-gan', { nG: 5 }, { unit: 'generator_updates', amount: 200_000 }, 40_000],
    ['alpha-gan', { nG: 5 }, { unit: 'examples_seen', amount: 6_400_000 }, 20_000], // max(nG, nD) × 64 rows
    ['alpha-gan', { nG: 5 }, { unit: 'steps', amount: 7 }, 7],
  ];
  for (const [model, hp, trainFor, steps] of table) {
    it(`${model} ${JSON.stringify(hp)}: ${trainFor.amount} ${trainFor.unit} → ${steps} steps`, () => {
      expect(stepsFor(trainFor, { model, hp: hpOf(model, hp) })).toBe(steps);
    });
  }

  /** the split, counting the real-image rows the trainer draws from it */
  function countingSplit(split: DatasetSplit, seen: { rows: number }): DatasetSplit {
    return {
      name: split.name,
      size: split.size,
      batch: (indices, seed) => split.batch(indices, seed),
      sample: (n, seed) => split.sample(n, seed),
      batches: (batchSize, seed, startBatch) => {
        const stream = split.batches(batchSize, seed, startBatch);
        return {
          next: () => {
            const r = stream.next();
            if (!r.done) seen.rows += r.value.x.shape[0];
            return r;
          },
        };
      },
    };
  }

  const discriminatorOf: Record<ModelName, string> = { dcgan: 'D', 'wgan-gp': 'D', age: 'E', 'alpha-gan': 'D' };
  const cases: [ModelName, Partial<ModelHyperparameters>][] = [
    ['dcgan', {}],
    ['wgan-gp', {}],
    ['age', {}],
    ['alpha-gan', { nG: 3 }],
  ];
  for (const [model, hp] of cases) {
    it(`${model} ${JSON.stringify(hp)}: progress events count the optimizers' updates and the rows drawn`, async () => {
      const m = tinyModel(model, 12, hp);
      const seen = { rows: 0 };
      const { events } = await run(m, freshDir(`counts-${model}`), 4, {
        logEvery: 2,
        data: countingSplit(data.train, seen),
      });
      const progress = events.filter((e): e is Extract<TrainEvent, { type: 'progress' }> => e.type === 'progress');
      expect(progress.map((e) => e.step)).toEqual([2, 4]);
      // independent: the optimizers' own iteration counters, and the rows the data stream handed out
      const updates = (m as unknown as { updateCounts(): Record<string, number> }).updateCounts();
      expect(progress[1].counts).toEqual({
        generatorUpdates: updates.G,
        discriminatorUpdates: updates[discriminatorOf[model]],
        examplesSeen: seen.rows,
      });
      expect(progress[0].counts.generatorUpdates * 2).toBe(updates.G);
      expect(updates.G).toBe(4 * (hp.nG ?? defaultHyperparameters(model).nG));
      m.dispose();
    });
  }
});

describe('progress line', () => {
  const progress = {
    type: 'progress',
    step: 120,
    totalSteps: 400,
    losses: { d: 0.69321, g: 1.2149 },
    stepsPerSec: 3.42,
    etaSec: 82,
    counts: { generatorUpdates: 120, discriminatorUpdates: 120, examplesSeen: 7680 },
  } as const;

  it('prints plain lines when not on a TTY', () => {
    let out = '';
    const line = createProgressLine({ write: (s: string) => (out += s), isTTY: false });
    line(progress);
    line({ ...progress, step: 400, etaSec: 0 });
    expect(out).toBe(
      'step 120/400 (30%) d=0.693 g=1.21 | 3.4 it/s | ETA 1m22s\nstep 400/400 (100%) d=0.693 g=1.21 | 3.4 it/s | ETA 0s\n',
    );
  });

  it('rewrites one line on a TTY and ends it at the last step', () => {
    let out = '';
    const line = createProgressLine({ write: (s: string) => (out += s), isTTY: true });
    line(progress);
    line({ ...progress, step: 400, etaSec: 0 });
    expect(out).toBe(
      '\rstep 120/400 (30%) d=0.693 g=1.21 | 3.4 it/s | ETA 1m22s\x1b[K\rstep 400/400 (100%) d=0.693 g=1.21 | 3.4 it/s | ETA 0s\x1b[K\n',
    );
    expect([formatDuration(45), formatDuration(3725)]).toEqual(['45s', '1h02m']);
  });
});

describe('ganstudy train (CLI)', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'train', ...args], {
      encoding: 'utf8',
      env: { ...process.env, TF_NUM_INTRAOP_THREADS: '1' },
      timeout: 110_000,
    });

  it('trains a tiny job end to end, then resumes it with more steps', () => {
    const out = freshDir('cli');
    const common = [
      '--model',
      'dcgan',
      '--dataset',
      'synthetic',
      '--out',
      out,
      '--width',
      '0.125',
      '--batch-size',
      '8',
      '--z-dim',
      '16',
      '--log-every',
      '2',
    ];
    const first = cli([...common, '--steps', '4', '--sample-every', '2', '--checkpoint-every', '2']);
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout.trim())).toMatchObject({ status: 'finished', step: 4, resumedFrom: null });
    expect(first.stderr).toMatch(/step 4\/4 \(100%\) d=/);
    expect(fs.existsSync(path.join(out, 'samples', 'step-4.png'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'checkpoints', 'step-4', TRAINER_STATE_FILE))).toBe(true);

    const second = cli([...common, '--steps', '6', '--sample-every', '2', '--checkpoint-every', '2']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming from step 4 of 6/);
    expect(JSON.parse(second.stdout.trim())).toMatchObject({ status: 'finished', step: 6, resumedFrom: 4 });

    // other hyperparameters into the same folder are refused, naming the difference
    const clash = cli([...common, '--steps', '8', '--lr-g', '0.001']);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toMatch(/lrG/);
  }, 120_000);

  it('rejects bad flag values with a message naming the flag', () => {
    const bad = cli(['--model', 'dcgan', '--dataset', 'synthetic', '--lr-g', 'fast']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--lr-g: expected a number, got "fast"/);
    const model = cli(['--model', 'vae', '--dataset', 'synthetic']);
    expect(model.status).toBe(2);
    expect(model.stderr).toMatch(/--model: expected one of dcgan, wgan-gp, age, alpha-gan, got "vae"/);
    const missing = cli(['--dataset', 'synthetic']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--model: is required/);
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: ganstudy train/);
  }, 60_000);
});
