/**
 * The report end to end, against the REAL tracker on both backends (the test MLflow server and a sqlite store in a
 * temp dir): a store with known runs (2 datasets × 4 models × 12 runs, FAILED runs with the best values that must
 * be ignored, a tie at the top-10 boundary, a group with fewer than 10 finished runs, samples.png artifacts,
 * train/ curves), then checks against independent calculations in this file: the top-10 sets, the tags read back
 * from MLflow (also after a run drops out), the README numbers, and every figure file.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateReport, type ReportSummary } from '../src/report/index.js';
import { openTracker } from '../src/tracking/index.js';
import type { Run, Tracker } from '../src/tracking/types.js';
import { createRng } from '../src/util/rng.js';

const SWEEP = 'report-fixture';
const DATASETS = ['cifar10', 'colormnist'] as const;
const MODELS = ['dcgan', 'wgan-gp', 'age', 'alpha-gan'] as const;
const RUNS_PER_MODEL = 12;
const K = 10;
// written here, not imported: the test's own statement of each metric's direction
const DIRECTION: Record<string, 'higher' | 'lower'> = { inception_score: 'higher', ms_ssim: 'lower', critic_w: 'lower', fid: 'lower' };
const SAMPLE_RGB = { r: 200, g: 30, b: 30 };

interface Fixture {
  runId: string;
  name: string;
  dataset: string;
  model: string;
  status: 'FINISHED' | 'FAILED';
  scores: Record<string, number>;
  /** generator updates per step (n_d is 1): the README relates it to the ranking */
  nG: number;
}

function runName(model: string, dataset: string, i: number): string {
  return `${model}/${dataset}/lr=${(1e-4 * (1 + (i % 3))).toExponential(0)},seed=${String(i).padStart(2, '0')}`;
}

/** Which runs fail, and the scores every run gets (FAILED ones get the "best" values so ranking them would show). */
function planRuns(): Omit<Fixture, 'runId' | 'nG'>[] {
  const rng = createRng(1234);
  const out: Omit<Fixture, 'runId' | 'nG'>[] = [];
  for (const dataset of DATASETS) {
    for (const model of MODELS) {
      for (let i = 0; i < RUNS_PER_MODEL; i++) {
        const failed =
          (model === 'dcgan' && i >= 10) || (dataset === 'cifar10' && model === 'age' && i >= 4 && i < 8) || (model === 'alpha-gan' && i === 0);
        const scores: Record<string, number> = failed
          ? { critic_w: -5, inception_score: 100, ms_ssim: 0, ...(dataset === 'cifar10' ? { fid: 0.01 } : {}) }
          : {
              critic_w: 0.2 + rng.next() * 2,
              inception_score: 1 + rng.next() * 8,
              ms_ssim: rng.next() * 0.5,
              ...(dataset === 'cifar10' ? { fid: 10 + rng.next() * 100 } : {}),
            };
        out.push({ name: runName(model, dataset, i), dataset, model, status: failed ? 'FAILED' : 'FINISHED', scores });
      }
    }
  }
  // a tie at the top-10 boundary: colormnist/wgan-gp critic_w, seeds 09 and 10 share the 10th value; seed 09 wins by name
  const wg = out.filter((r) => r.dataset === 'colormnist' && r.model === 'wgan-gp');
  [0.5, 0.3, 0.9, 0.7, 0.1, 0.8, 0.2, 0.6, 0.4, 0.95, 0.95, 1.2].forEach((v, i) => (wg[i].scores.critic_w = v));
  // a finished run without critic_w (never ranked by it)
  delete out.find((r) => r.dataset === 'colormnist' && r.model === 'alpha-gan' && r.name.endsWith('seed=05'))!.scores.critic_w;
  return out;
}

async function buildStore(tracker: Tracker, samplePng: string): Promise<Fixture[]> {
  const exp = await tracker.getOrCreateExperiment(SWEEP);
  const fixtures: Fixture[] = [];
  for (const [n, plan] of planRuns().entries()) {
    const info = await tracker.createRun(exp, {
      runName: plan.name,
      tags: {
        'ganstudy.sweep': SWEEP,
        'ganstudy.trial_id': `t${String(n).padStart(4, '0')}`,
        'ganstudy.model': plan.model,
        'ganstudy.dataset': plan.dataset,
        'ganstudy.classifier': `${plan.dataset}-classifier`,
      },
    });
    await tracker.logParams(info.runId, {
      model: plan.model,
      dataset: plan.dataset,
      seed: n,
      steps: 200,
      batch_size: 64,
      inception_samples: 1000, // as src/tracking/run-record.ts names protocol fields
      critic_steps: 150,
      n_g: 1 + (n % 3 === 0 ? 1 : 0),
      n_d: 1,
    });
    const t = Date.now();
    const points = Object.entries(plan.scores).map(([m, value]) => ({ key: `eval/${m}`, value, step: 200, timestamp: t }));
    points.push({ key: 'eval/inception_score_std', value: 0.1, step: 200, timestamp: t }); // no direction: never ranked
    if (plan.dataset === 'colormnist' && plan.status === 'FINISHED') {
      for (let s = 0; s < 20; s++) {
        points.push({ key: 'train/d_loss', value: 1 / (1 + s) + n * 1e-3, step: s * 10, timestamp: t });
        points.push({ key: 'train/g_loss', value: 2 - s / 20, step: s * 10, timestamp: t });
      }
    }
    await tracker.logMetrics(info.runId, points);
    if (plan.dataset === 'colormnist' && plan.status === 'FINISHED') await tracker.logArtifact(info.runId, samplePng, '');
    // stale tags the report must remove: on a FAILED run, and for a metric nobody logged
    if (plan.status === 'FAILED') await tracker.setTags(info.runId, { 'ganstudy.top10.critic_w': 'true' });
    if (n === 1) await tracker.setTags(info.runId, { 'ganstudy.top10.kid': 'true' });
    await tracker.setRunStatus(info.runId, plan.status, Date.now());
    fixtures.push({ ...plan, runId: info.runId, nG: 1 + (n % 3 === 0 ? 1 : 0) });
  }
  await tracker.flush();
  return fixtures;
}

/** Independent top-k: sort by value in the metric's direction, ties by name then id. */
function expectedTop(fixtures: readonly Fixture[], dataset: string, model: string, metric: string): Fixture[] {
  const dir = DIRECTION[metric];
  return fixtures
    .filter((f) => f.dataset === dataset && f.model === model && f.status === 'FINISHED' && f.scores[metric] !== undefined)
    .sort((a, b) => {
      const d = dir === 'higher' ? b.scores[metric] - a.scores[metric] : a.scores[metric] - b.scores[metric];
      if (d !== 0) return d;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : a.runId < b.runId ? -1 : 1;
    })
    .slice(0, K);
}

function expectedTagKeys(fixtures: readonly Fixture[]): Map<string, Set<string>> {
  const want = new Map<string, Set<string>>(fixtures.map((f) => [f.runId, new Set<string>()]));
  for (const d of DATASETS)
    for (const m of MODELS)
      for (const metric of Object.keys(DIRECTION)) for (const f of expectedTop(fixtures, d, m, metric)) want.get(f.runId)!.add(`ganstudy.top10.${metric}`);
  return want;
}

function topTagsOf(run: Run): string[] {
  return Object.entries(run.tags)
    .filter(([k, v]) => k.startsWith('ganstudy.top10.') && v === 'true')
    .map(([k]) => k)
    .sort();
}

interface TableRow {
  model: string;
  metric: string;
  better: string;
  best: number;
  bestRun: string;
  mean: number;
  std: number;
  n: number;
}

function parseTable(readme: string, dataset: string): TableRow[] {
  const section = readme.split(`## Dataset: ${dataset}\n`)[1];
  expect(section, `README has a section for ${dataset}`).toBeDefined();
  const lines = section.split('\n').filter((l) => l.startsWith('|'));
  const header = lines[0].split('|').slice(1, -1).map((c) => c.trim());
  expect(header).toEqual(['model', 'metric', 'better', 'best', 'best run', `top-${K} mean ± std`, 'n', 'finished / runs']);
  const rows: TableRow[] = [];
  for (const line of lines.slice(2)) {
    const c = line.split('|').slice(1, -1).map((x) => x.trim());
    if (c.length !== header.length) break; // the next table (protocol) starts
    const [mean, std] = c[5].split('±').map((x) => Number(x.trim()));
    rows.push({ model: c[0], metric: c[1], better: c[2], best: Number(c[3]), bestRun: c[4], mean, std, n: Number(c[6]) });
  }
  return rows;
}

function sampleStd(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** relative tolerance of the README's six significant digits */
function expectClose(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(Math.abs(expected) * 1e-5 + 1e-12);
}

const backends: [string, () => Promise<{ uri: string; cleanup: () => Promise<void> }>][] = [
  ['MLflow server (REST)', async () => ({ uri: inject('mlflowUri'), cleanup: async () => {} })],
  [
    'sqlite store (a local MLflow server)',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-report-store-'));
      return { uri: `sqlite:///${path.join(dir, 'mlflow.db')}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(backends)('report over the %s', (_label, makeStore) => {
  let tracker: Tracker;
  let cleanup: () => Promise<void>;
  let work: string;
  let fixtures: Fixture[];
  let summary: ReportSummary;

  beforeAll(async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    work = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-report-'));
    const samplePng = path.join(work, 'samples.png');
    await sharp({ create: { width: 56, height: 84, channels: 3, background: SAMPLE_RGB } }).png().toFile(samplePng);
    tracker = await openTracker(store.uri);
    const t0 = Date.now();
    fixtures = await buildStore(tracker, samplePng);
    const t1 = Date.now();
    summary = await generateReport({ tracker, sweeps: [SWEEP], outDir: path.join(work, 'results'), k: K });
    console.log(`[${_label}] store of ${fixtures.length} runs built in ${t1 - t0} ms; report took ${Date.now() - t1} ms`);
  }, 300_000);

  afterAll(async () => {
    await tracker?.close();
    await rm(work, { recursive: true, force: true });
    await cleanup?.();
  });

  it('selects the top-10 per (dataset, model, metric) as an independent sort does, FAILED runs ignored', () => {
    const s = summary.sweeps[0];
    expect(s.runs.total).toBe(DATASETS.length * MODELS.length * RUNS_PER_MODEL);
    expect(s.runs.finished).toBe(fixtures.filter((f) => f.status === 'FINISHED').length);
    let groups = 0;
    for (const d of DATASETS)
      for (const m of MODELS)
        for (const metric of Object.keys(DIRECTION)) {
          const want = expectedTop(fixtures, d, m, metric).map((f) => f.runId);
          const got = s.topSets.find((t) => t.dataset === d && t.model === m && t.metric === metric);
          if (want.length === 0) {
            expect(got, `${d}/${m}/${metric} has no runs`).toBeUndefined();
            continue;
          }
          groups++;
          expect(got?.top.map((r) => r.runId), `${d}/${m}/${metric}`).toEqual(want);
        }
    expect(s.topSets.length).toBe(groups);
    // the boundary tie went to the smaller run name, and the small group holds all its 8 finished runs
    const tie = s.topSets.find((t) => t.dataset === 'colormnist' && t.model === 'wgan-gp' && t.metric === 'critic_w')!;
    expect(tie.top[9].runName.endsWith('seed=09')).toBe(true);
    expect(s.topSets.find((t) => t.dataset === 'cifar10' && t.model === 'age' && t.metric === 'fid')!.n).toBe(8);
  });

  it('tags exactly the top-10 runs in MLflow and removes stale tags', async () => {
    const exp = (await tracker.getExperimentByName(SWEEP))!;
    const runs = await tracker.searchRuns([exp]);
    const want = expectedTagKeys(fixtures);
    for (const f of fixtures) {
      const run = runs.find((r) => r.info.runId === f.runId)!;
      expect(topTagsOf(run), f.name).toEqual([...want.get(f.runId)!].sort());
    }
    const reports = runs.filter((r) => r.tags['ganstudy.report'] === 'true');
    expect(reports.length).toBe(1);
    expect(reports[0].info.status).toBe('FINISHED');
    const logged = new Set((await tracker.listArtifacts(reports[0].info.runId, 'figures')).map((a) => path.basename(a.path)));
    for (const fig of summary.sweeps[0].figures) for (const file of [fig.png, fig.svg, fig.vegaLite]) if (file) expect(logged.has(path.basename(file)), file).toBe(true);
  });

  it('writes README tables whose numbers match an independent mean and std, plus protocol and paper comparison', async () => {
    const readme = await readFile(summary.sweeps[0].readme, 'utf8');
    for (const d of DATASETS) {
      const rows = parseTable(readme, d);
      let expectedRows = 0;
      for (const m of MODELS)
        for (const metric of Object.keys(DIRECTION)) {
          const top = expectedTop(fixtures, d, m, metric);
          if (top.length === 0) continue;
          expectedRows++;
          const row = rows.find((r) => r.model === m && r.metric === metric);
          expect(row, `${d}/${m}/${metric} row`).toBeDefined();
          const vals = top.map((f) => f.scores[metric]);
          expect(row!.better).toBe(DIRECTION[metric]);
          expect(row!.n).toBe(top.length);
          expect(row!.bestRun).toBe(top[0].name);
          expectClose(row!.best, vals[0], `${d}/${m}/${metric} best`);
          expectClose(row!.mean, vals.reduce((a, b) => a + b, 0) / vals.length, `${d}/${m}/${metric} mean`);
          expectClose(row!.std, sampleStd(vals), `${d}/${m}/${metric} std`);
        }
      expect(rows.length).toBe(expectedRows);
    }
    expect(readme).not.toMatch(/\| inception_score_std \|/);
    expect(readme).toMatch(/\| inceptionSamples \| 1000 \|/);
    expect(readme).toMatch(/\| criticSteps \| 150 \|/);
    expect(readme).toContain('colormnist-classifier');
    expect(readme).toContain('## Comparison with the paper');
    expect(readme).toContain('No numbers from the paper could be verified');
    // generator updates per D update: top-10 by critic_w against all finished runs (colormnist, wgan-gp)
    const m = /colormnist\/wgan-gp: mean n_g\/n_d ([\d.]+) in the top-10 by critic_w vs ([\d.]+) over all (\d+) finished runs/.exec(readme);
    expect(m, 'n_g/n_d evidence for colormnist/wgan-gp').not.toBeNull();
    const finished = fixtures.filter((f) => f.dataset === 'colormnist' && f.model === 'wgan-gp' && f.status === 'FINISHED');
    const top = expectedTop(fixtures, 'colormnist', 'wgan-gp', 'critic_w');
    expectClose(Number(m![1]), top.reduce((a, f) => a + f.nG, 0) / top.length, 'top-10 mean n_g/n_d');
    expectClose(Number(m![2]), finished.reduce((a, f) => a + f.nG, 0) / finished.length, 'mean n_g/n_d');
    expect(Number(m![3])).toBe(finished.length);
  });

  it('writes every figure as files that decode to images of the expected size', async () => {
    const figs = summary.sweeps[0].figures;
    const names = figs.map((f) => path.relative(summary.sweeps[0].dir, f.png)).sort();
    expect(names).toEqual(
      [
        'figures/cifar10-critic_w.png', 'figures/cifar10-fid.png', 'figures/cifar10-inception_score.png', 'figures/cifar10-ms_ssim.png',
        'figures/cifar10-samples.png',
        'figures/colormnist-critic_w.png', 'figures/colormnist-inception_score.png', 'figures/colormnist-ms_ssim.png',
        ...MODELS.map((m) => `figures/colormnist-curves-${m}.png`),
        'figures/colormnist-samples.png',
      ].sort(),
    );
    const readme = await readFile(summary.sweeps[0].readme, 'utf8');
    for (const f of figs) {
      expect(readme).toContain(path.relative(summary.sweeps[0].dir, f.png));
      const meta = await sharp(f.png).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(0);
      expect(meta.height).toBeGreaterThan(0);
      if (f.kind === 'samples') {
        // 4 tiles of 256 px with 12 px gaps, under 44 px labels (the sizes sample-grid.ts documents)
        expect([meta.width, meta.height]).toEqual([4 * 256 + 5 * 12, 44 + 256 + 2 * 12]);
        continue;
      }
      const svg = await readFile(f.svg!, 'utf8');
      const w = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]);
      const h = Number(/<svg[^>]*\sheight="([\d.]+)"/.exec(svg)?.[1]);
      expect(await sharp(Buffer.from(svg)).metadata().then((m) => [m.width, m.height])).toEqual([w, h]);
      expect([meta.width, meta.height]).toEqual([Math.round(w * 2), Math.round(h * 2)]);
      const vl = JSON.parse(await readFile(f.vegaLite!, 'utf8')) as { width?: number; height?: number };
      if (f.kind === 'metric') expect([vl.width, vl.height]).toEqual([w, h]); // autosize 'fit': the whole figure is the spec's size
    }
    // the samples of colormnist's best runs are in the grid (the tile's centre has the sample colour); cifar10 has none
    const grid = figs.find((f) => f.title.startsWith('colormnist') && f.kind === 'samples')!;
    const { data } = await sharp(grid.png).extract({ left: 12 + 128 - 4, top: 12 + 44 + 128 - 4, width: 8, height: 8 }).raw().toBuffer({ resolveWithObject: true });
    expect([data[0], data[1], data[2]]).toEqual([SAMPLE_RGB.r, SAMPLE_RGB.g, SAMPLE_RGB.b]);
  });

  it('untags a run that drops out of the top-10 when a report is run again', async () => {
    // the rank-1 colormnist/wgan-gp run by critic_w (0.1) gets a bad final value: it must drop out, seed 10 comes in
    const wg = fixtures.filter((f) => f.dataset === 'colormnist' && f.model === 'wgan-gp');
    const dropped = wg.find((f) => f.scores.critic_w === 0.1)!;
    const entering = wg.find((f) => f.name.endsWith('seed=10'))!;
    await tracker.logMetrics(dropped.runId, [{ key: 'eval/critic_w', value: 5, step: 300, timestamp: Date.now() }]);
    await tracker.flush();
    dropped.scores.critic_w = 5;
    const again = await generateReport({ tracker, sweeps: [SWEEP], outDir: path.join(work, 'results'), k: K });
    expect(again.sweeps[0].tagChanges.removed).toEqual([{ runId: dropped.runId, key: 'ganstudy.top10.critic_w' }]);
    expect(again.sweeps[0].tagChanges.set).toEqual([{ runId: entering.runId, key: 'ganstudy.top10.critic_w' }]);
    const exp = (await tracker.getExperimentByName(SWEEP))!;
    const runs = await tracker.searchRuns([exp]);
    const want = expectedTagKeys(fixtures);
    for (const f of fixtures) expect(topTagsOf(runs.find((r) => r.info.runId === f.runId)!), f.name).toEqual([...want.get(f.runId)!].sort());
    expect(want.get(dropped.runId)!.has('ganstudy.top10.critic_w')).toBe(false);
    expect(runs.filter((r) => r.tags['ganstudy.report'] === 'true').length).toBe(2); // report runs are never ranked
    const row = parseTable(await readFile(again.sweeps[0].readme, 'utf8'), 'colormnist').find((r) => r.model === 'wgan-gp' && r.metric === 'critic_w')!;
    expectClose(row.best, 0.2, 'new best after the change');
  });
});

describe('ganstudy plots (CLI)', () => {
  it('finds the sweeps in a sqlite store by itself and writes results/<sweep>/', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-plots-cli-'));
    try {
      const store = `sqlite:///${path.join(dir, 'mlflow.db')}`;
      const tracker = await openTracker(store);
      const exp = await tracker.getOrCreateExperiment('cli-sweep');
      for (let i = 0; i < 3; i++) {
        const r = await tracker.createRun(exp, { runName: `dcgan/colormnist/seed=${i}`, tags: { 'ganstudy.sweep': 'cli-sweep', 'ganstudy.model': 'dcgan', 'ganstudy.dataset': 'colormnist' } });
        await tracker.logMetrics(r.runId, [{ key: 'eval/critic_w', value: i, step: 1, timestamp: Date.now() }]);
        await tracker.setRunStatus(r.runId, 'FINISHED', Date.now());
      }
      await tracker.getOrCreateExperiment('not-a-sweep');
      await tracker.flush();
      await tracker.close();
      const { spawnSync } = await import('node:child_process');
      const out = path.join(dir, 'results');
      const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'plots', '--out', out, '--k', '2'], {
        env: { ...process.env, MLFLOW_TRACKING_URI: store },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/report took [\d.]+ s/);
      expect(existsSync(path.join(out, 'cli-sweep', 'README.md'))).toBe(true);
      expect(existsSync(path.join(out, 'not-a-sweep'))).toBe(false);
      const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'plots', '--k', 'zero'], { encoding: 'utf8', timeout: 60_000 });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--k/);
      const missing = path.join(dir, 'no-such-store.db');
      const none = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'plots', '--tracking-uri', `sqlite:///${missing}`], { encoding: 'utf8', timeout: 60_000 });
      expect(none.status).toBe(1);
      expect(none.stderr).toMatch(/does not exist/);
      expect(existsSync(missing)).toBe(false); // a typo must not create an empty store
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
