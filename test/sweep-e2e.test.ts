/**
 * Sweeps end to end with real components: the CLI in child processes, native TensorFlow, the synthetic dataset,
 * a real MLflow server. Fault drills: a diverging trial, kill -9 of the whole sweep mid-trial, and the tracking
 * server going away mid-trial.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openTracker } from '../src/tracking/index.js';
import type { Run, Tracker } from '../src/tracking/types.js';
import { startMlflowServer } from './setup/mlflow-server.js';

const TINY = 'test/fixtures/sweeps/tiny.ts';
const MAIN = 'src/cli/main.ts';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-sweep-e2e-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GANSTUDY_RUNS_DIR: path.join(scratch, 'runs'),
    GANSTUDY_CACHE_DIR: path.join(scratch, 'cache'),
    ...extra,
  };
}

/** Spawns the CLI in its own process group (so a test can kill the whole sweep, children included). */
function startCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}

async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(args, env).done;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function runsOf(tracker: Tracker, experiment: string): Promise<Run[]> {
  const id = await tracker.getExperimentByName(experiment);
  expect(id, `experiment ${experiment}`).toBeDefined();
  return tracker.searchRuns([id as string]);
}

/** every step of a metric's history, sorted; duplicates would show up as repeated numbers */
async function steps(tracker: Tracker, runId: string, key: string): Promise<number[]> {
  return (await tracker.getMetricHistory(runId, key)).map((p) => p.step).sort((a, b) => a - b);
}

function range(from: number, to: number, by: number): number[] {
  const out: number[] = [];
  for (let s = from; s <= to; s += by) out.push(s);
  return out;
}

describe('sweep end to end (real MLflow server)', () => {
  const uri = inject('mlflowUri');
  const name = `e2e-${process.pid}`;
  const env = () =>
    cliEnv({
      MLFLOW_TRACKING_URI: uri,
      TINY_NAME: name,
      TINY_DIVERGE: '1',
      TINY_LRS: '1e-4,2e-4',
      TINY_STEPS: '12',
      TINY_EVAL_EVERY: '6',
      TINY_METRICS: 'ms_ssim,fid',
    });

  it('runs every trial once, records params/tags/metrics/artifacts, fails the diverging trial and goes on', async () => {
    const r = await runCli(['sweep', TINY, '--parallel', '2'], env());
    expect(r.code, r.stdout + r.stderr).toBe(1); // one trial diverged
    expect(r.stdout).toMatch(/\[3\/3 done, 1 failed\]/);
    // the FID classifier is trained once before the parallel trials, which then find it in the cache
    expect(r.stdout + r.stderr).toMatch(/\[prepare\] synthetic-class-cnn@[0-9a-f]+: ready for 3 trial/);
    expect(r.stderr).toMatch(/loaded from/);
    const tracker = await openTracker(uri);
    try {
      const runs = await runsOf(tracker, name);
      expect(runs).toHaveLength(3);
      expect(new Set(runs.map((x) => x.tags['ganstudy.trial_id'])).size).toBe(3);
      const finished = runs.filter((x) => x.info.status === 'FINISHED');
      expect(finished.map((x) => x.params.lr_g).sort()).toEqual(['0.0001', '0.0002']);
      for (const run of finished) {
        expect(run.info.runName).toBe(`dcgan/synthetic/lr_g=${run.params.lr_g === '0.0001' ? '1e-4' : '2e-4'},seed=1`);
        expect(run.tags).toMatchObject({
          'ganstudy.sweep': name,
          'ganstudy.model': 'dcgan',
          'ganstudy.dataset': 'synthetic',
        });
        expect(run.tags['mlflow.source.git.commit']).toMatch(/^[0-9a-f]{40}$/);
        expect(run.tags['ganstudy.classifier']).toMatch(/^synthetic-class-cnn@/);
        expect(Number.isFinite(run.metrics['val/fid'])).toBe(true);
        expect(Number.isFinite(run.metrics['test/fid'])).toBe(true);
        expect(run.params).toMatchObject({
          model: 'dcgan',
          dataset: 'synthetic',
          seed: '1',
          steps: '12',
          batch_size: '16',
          z_dim: '16',
          width_multiplier: '0.25',
        });
        for (const key of ['lr_d', 'beta1', 'beta2', 'n_g', 'n_d', 'critic_steps', 'resolution'])
          expect(run.params).toHaveProperty(key);
        expect(Number.isFinite(run.metrics['val/ms_ssim'])).toBe(true);
        const trainKeys = Object.keys(run.metrics).filter((k) => k.startsWith('train/'));
        expect(trainKeys.length).toBeGreaterThan(0);
        expect(await steps(tracker, run.info.runId, trainKeys[0])).toEqual(range(2, 12, 2));
        // work counters from DCGAN's schedule (nG = nD = 1, batch 16): per step 1 G update, 1 D update, 16 images
        expect(run.params).toMatchObject({ train_for_unit: 'steps', train_for_amount: '12' });
        for (const [key, perStep] of [
          ['train/generator_updates', 1],
          ['train/discriminator_updates', 1],
          ['train/examples_seen', 16],
        ] as const) {
          const history = await tracker.getMetricHistory(run.info.runId, key);
          expect(
            history.map((p) => [p.step, p.value]).sort((a, b) => a[0] - b[0]),
            key,
          ).toEqual(range(2, 12, 2).map((st) => [st, st * perStep]));
        }
        // scored on validation half-way (evalEvery 6) and at the end; best_* because the UI shows only the last
        // value, MS-SSIM's closest to the real data's (its validation reference is the same at both steps)
        const history = await tracker.getMetricHistory(run.info.runId, 'val/ms_ssim');
        expect(history.map((p) => p.step).sort((a, b) => a - b)).toEqual([6, 12]);
        const real = run.metrics['val/ms_ssim_real'];
        const closest = history.reduce((a, b) => (Math.abs(b.value - real) < Math.abs(a.value - real) ? b : a));
        expect(run.metrics.best_ms_ssim).toBe(closest.value);
        // selected on val/fid (the first of its metrics in the selection order), scored once on test at that step
        const fid = await tracker.getMetricHistory(run.info.runId, 'val/fid');
        const bestFid = fid.reduce((a, b) => (b.value < a.value || (b.value === a.value && b.step < a.step) ? b : a));
        expect(run.metrics.best_fid_step).toBe(bestFid.step);
        expect(run.tags).toMatchObject({
          'ganstudy.selected_step': String(bestFid.step),
          'ganstudy.selection_metric': 'fid',
        });
        for (const key of ['test/fid', 'test/fid_real', 'test/ms_ssim'])
          expect(await steps(tracker, run.info.runId, key), key).toEqual([bestFid.step]);
        const artifacts = (await tracker.listArtifacts(run.info.runId)).map((a) => a.path);
        expect(artifacts).toEqual(expect.arrayContaining(['samples.png', 'config.json', 'checkpoint']));
        expect((await tracker.listArtifacts(run.info.runId, 'checkpoint')).length).toBeGreaterThan(0);
      }
      const diverged = runs.find((x) => x.tags['ganstudy.model'] === 'wgan-gp')!;
      expect(diverged.info.status).toBe('FAILED');
      expect(Number(diverged.tags['ganstudy.diverged_at_step'])).toBeGreaterThanOrEqual(1);
      expect(Number(diverged.tags['ganstudy.diverged_at_step'])).toBeLessThanOrEqual(12);

      // again: nothing runs, nothing is duplicated, finished runs are untouched
      const again = await runCli(['sweep', TINY, '--parallel', '2'], env());
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(/3 trial\(s\) already in the tracker/);
      const after = await runsOf(tracker, name);
      expect(after).toHaveLength(3);
      for (const run of finished) {
        const same = after.find((x) => x.info.runId === run.info.runId)!;
        expect(same.info.status).toBe('FINISHED');
        expect(same.info.endTime).toBe(run.info.endTime);
      }
      const dry = await runCli(['sweep', TINY, '--dry-run'], env());
      expect(dry.code).toBe(0);
      expect(dry.stdout.match(/FINISHED/g)).toHaveLength(2);
      expect(dry.stdout.match(/DIVERGED/g)).toHaveLength(1);
    } finally {
      await tracker.close();
    }
  });

  it('Ctrl-C stops cleanly; kill -9 mid-trial; run again: every trial FINISHED exactly once, resumed from its checkpoint', async () => {
    const killName = `kill-${process.pid}`;
    const total = 16;
    const e = cliEnv({
      MLFLOW_TRACKING_URI: uri,
      TINY_NAME: killName,
      TINY_LRS: '1e-4,2e-4',
      TINY_STEPS: String(total),
      TINY_CKPT: '4',
      TINY_METRICS: 'ms_ssim',
    });
    const sweepRuns = path.join(scratch, 'runs', killName);
    /** trial folders holding at least one checkpoint but not the final one */
    const midway = async (): Promise<{ trial: string; done: string[] }[]> => {
      if (!existsSync(sweepRuns)) return [];
      const out: { trial: string; done: string[] }[] = [];
      for (const trial of await readdir(sweepRuns)) {
        const dir = path.join(sweepRuns, trial, 'checkpoints');
        if (!existsSync(dir)) continue;
        const done = (await readdir(dir)).filter((d) => d.startsWith('step-'));
        if (done.length > 0 && !done.includes(`step-${total}`)) out.push({ trial, done });
      }
      return out;
    };
    const tracker = await openTracker(uri);
    try {
      // 1. SIGINT to the sweep process only: it forwards to the running trial, which checkpoints and ends KILLED
      const first = startCli(['sweep', TINY], e);
      await waitFor('a first checkpoint', async () => ((await midway()).length > 0 ? true : undefined), 240_000);
      process.kill(first.child.pid!, 'SIGINT');
      const stopped = await first.done;
      expect(stopped.code, stopped.stdout + stopped.stderr).toBe(130);
      expect(stopped.stdout).toMatch(/interrupted/);
      const afterStop = await runsOf(tracker, killName);
      expect(afterStop).toHaveLength(1);
      expect(afterStop[0].info.status).toBe('KILLED');

      // 2. kill -9 of the whole process group while the second trial is mid-way
      const second = startCli(['sweep', TINY], e);
      const ckpt = await waitFor(
        'a checkpoint of the second trial',
        async () => {
          if (!second.output().includes('[1/2 done')) return undefined;
          return (await midway())[0];
        },
        240_000,
      );
      process.kill(-second.child.pid!, 'SIGKILL');
      const killed = await second.done;
      expect(killed.code).toBeNull();

      // 3. again: finishes what is missing, duplicates nothing
      const third = await runCli(['sweep', TINY], e);
      expect(third.code, third.stdout + third.stderr).toBe(0);
      expect(third.stderr).toMatch(/resuming from checkpoint step \d+/);
      const runs = await runsOf(tracker, killName);
      expect(runs).toHaveLength(2);
      expect(runs.every((x) => x.info.status === 'FINISHED')).toBe(true);
      const resumed = runs.find((x) => x.tags['ganstudy.trial_id'] === ckpt.trial)!;
      const from = Number(resumed.tags['ganstudy.resumed_from_step']);
      expect(from % 4).toBe(0);
      expect(from).toBeGreaterThanOrEqual(4);
      expect(from).toBeLessThan(total);
      // both runs were resumed once (after Ctrl-C, after kill -9); the curves are whole, no step logged twice
      expect(runs.every((x) => x.tags['ganstudy.resumed_from_step'] !== undefined)).toBe(true);
      for (const run of runs) {
        const key = Object.keys(run.metrics).find((k) => k.startsWith('train/'))!;
        expect(await steps(tracker, run.info.runId, key)).toEqual(range(2, total, 2));
      }
    } finally {
      await tracker.close();
    }
  });
});

describe('sweep on a sqlite store (a local MLflow server for the sweep, shared by its trials)', () => {
  it('runs phase 2 (refine): the best setting again with new seeds, ranked by the validation score', async () => {
    const store = `sqlite:///${path.join(scratch, 'mlflow.db')}`;
    const refName = `refine-${process.pid}`;
    const e = cliEnv({
      MLFLOW_TRACKING_URI: store,
      TINY_NAME: refName,
      TINY_LRS: '1e-4,5e-4',
      TINY_STEPS: '4',
      TINY_CKPT: '4',
      TINY_REFINE: '1',
    });
    const r = await runCli(['sweep', TINY], e);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /refine: top 1 setting\(s\) per model and dataset by val\/ms_ssim, 2 new seed\(s\) each → 2 trials/,
    );
    // the sweep's own server is gone once the sweep has ended
    const local = /local MLflow server (http:\/\/127\.0\.0\.1:\d+)/.exec(r.stdout)?.[1];
    expect(local, r.stdout).toBeDefined();
    await expect(fetch(`${local}/health`)).rejects.toThrow();
    const tracker = await openTracker(store);
    try {
      const runs = await runsOf(tracker, refName);
      expect(runs).toHaveLength(4);
      expect(runs.every((x) => x.info.status === 'FINISHED')).toBe(true);
      const grid = runs.filter((x) => x.tags['ganstudy.phase'] === 'grid');
      const refine = runs.filter((x) => x.tags['ganstudy.phase'] === 'refine');
      // MS-SSIM ranks by closeness to the real data's, on validation
      const distance = (x: Run) => Math.abs(x.metrics.best_ms_ssim - x.metrics['val/ms_ssim_real']);
      const best = grid.reduce((a, b) => (distance(a) <= distance(b) ? a : b));
      expect(refine.map((x) => x.params.seed).sort()).toEqual(['7', '8']);
      for (const x of refine) {
        expect(x.params.setting_id).toBe(best.params.setting_id);
        expect(x.params.lr_g).toBe(best.params.lr_g);
      }
      // again: both phases are complete, nothing runs
      const again = await runCli(['sweep', TINY], e);
      expect(again.code).toBe(0);
      expect(await runsOf(tracker, refName)).toHaveLength(4);
    } finally {
      await tracker.close();
    }
  });
});

describe('tracking server outage mid-trial', () => {
  it('loses nothing when the MLflow server is killed and restarted', async () => {
    const server = await startMlflowServer();
    const outName = `outage-${process.pid}`;
    const tracker = await openTracker(server.uri);
    try {
      const e = cliEnv({
        MLFLOW_TRACKING_URI: server.uri,
        TINY_NAME: outName,
        TINY_STEPS: '30',
        TINY_CKPT: '10',
        TINY_METRICS: 'ms_ssim',
      });
      const trial = startCli(['trial', TINY, '--index', '0'], e);
      const runId = await waitFor('the first training metrics on the server', async () => {
        const id = await tracker.getExperimentByName(outName);
        if (id === undefined) return undefined;
        const [run] = await tracker.searchRuns([id]);
        return run && Object.keys(run.metrics).some((k) => k.startsWith('train/')) ? run.info.runId : undefined;
      });
      await server.kill();
      await new Promise((r) => setTimeout(r, 4_000));
      await server.restart();
      const r = await trial.done;
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const run = await tracker.getRun(runId);
      expect(run.info.status).toBe('FINISHED');
      const key = Object.keys(run.metrics).find((k) => k.startsWith('train/'))!;
      expect(await steps(tracker, runId, key)).toEqual(range(2, 30, 2));
      expect(Number.isFinite(run.metrics['val/ms_ssim'])).toBe(true);
      expect(await steps(tracker, runId, 'test/ms_ssim')).toEqual([30]);
      expect((await tracker.listArtifacts(runId)).map((a) => a.path)).toEqual(
        expect.arrayContaining(['samples.png', 'config.json']),
      );
    } finally {
      await tracker.close();
      await server.stop();
    }
  });
});
