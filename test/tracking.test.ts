/**
 * One conformance suite for the Tracker contract, run against every store ganstudy supports: the real server of
 * test/setup/global.ts (sqlite), a PostgreSQL-backed server (CI provides the database: GANSTUDY_TEST_POSTGRES_URI),
 * and a sqlite URI for which openTracker starts the local server itself. What ganstudy wrote is then read back by
 * MLflow itself — the server's REST API queried with plain fetch, and the installed `mlflow` Python client on the
 * sqlite file — and compared point by point. Then the local server's lifetime (stopped on close, gone when its
 * process is SIGKILLed), the tracking-URI rule, and the outage drill: a server killed mid-run and restarted, and a
 * process that dies with writes still journaled.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { fileStoreRefusal, MlflowRestTracker, openTracker, resolveTrackingUri } from '../src/tracking/index.js';
import type { MetricPoint, Tracker } from '../src/tracking/types.js';
import { POSTGRES_ENV, startMlflowServer, testPostgresUri } from './setup/mlflow-server.js';

const exec = promisify(execFile);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ganstudy-tracking-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// a real 1×1 PNG and a JSON file, written by the test
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360f8cf000000030101005b1ae5a00000000049454e44ae426082',
  'hex',
);
const pngPath = path.join(scratch, 'samples.png');
const jsonPath = path.join(scratch, 'config.json');
writeFileSync(pngPath, PNG);
writeFileSync(jsonPath, JSON.stringify({ model: 'alpha-gan', lr: 2e-4 }));

interface ReadBack {
  params: Record<string, string>;
  tags: Record<string, string>;
  status: string;
  history: Record<string, { step: number; value: number; timestamp: number }[]>;
}

/** what the run holds according to MLflow itself (not through ganstudy's client) */
type ReadBackFn = (runId: string) => Promise<ReadBack>;

const N_POINTS = 2500; // > 1000: several log-batch chunks
const curve = (step: number): number => Math.sin(step / 50) * 3 + step / 1000;

function conformance(
  name: string,
  make: () => Tracker,
  readBack: ReadBackFn,
  opts: { pageSizeTracker?: () => Tracker } = {},
): void {
  describe(`Tracker conformance: ${name}`, () => {
    const tracker = make();
    const expName = `conformance-${name}-${Date.now()}`;
    let expId = '';
    let runId = '';

    it('creates and finds an experiment exactly once', async () => {
      expect(await tracker.getExperimentByName(expName)).toBeUndefined();
      expId = await tracker.getOrCreateExperiment(expName);
      expect(await tracker.getOrCreateExperiment(expName)).toBe(expId);
      expect(await tracker.getExperimentByName(expName)).toBe(expId);
    });

    it('logs params, > 1000 metric steps, tags, status; reads them back; drops repeated (key, step)', async () => {
      const t0 = 1_700_000_000_000;
      const info = await tracker.createRun(expId, {
        runName: 'alpha-gan/colormnist/lr=2e-4',
        tags: { 'ganstudy.sweep': expName, 'ganstudy.trial_id': 'abc123', 'tmp.to_delete': 'x' },
      });
      runId = info.runId;
      expect(info.status).toBe('RUNNING');
      await tracker.logParams(runId, { model: 'alpha-gan', lr_g: 2e-4, batch_size: 64, ema: false });
      const loss: MetricPoint[] = Array.from({ length: N_POINTS }, (_, s) => ({
        key: 'train/loss_d',
        value: curve(s),
        step: s,
        timestamp: t0 + s,
      }));
      await tracker.logMetrics(runId, loss.slice(0, 1200));
      await tracker.logMetrics(runId, loss.slice(1200));
      await tracker.logMetrics(runId, [
        { key: 'eval/fid', value: 80.5, step: 500, timestamp: t0 },
        { key: 'eval/fid', value: 41.25, step: 1000, timestamp: t0 + 1 },
      ]);
      // repeated steps with other values are dropped; a new step is kept
      await tracker.logMetrics(runId, [
        { key: 'train/loss_d', value: 999, step: 10, timestamp: t0 + 5 },
        { key: 'eval/fid', value: 999, step: 500, timestamp: t0 + 5 },
        { key: 'eval/fid', value: 30, step: 1500, timestamp: t0 + 2 },
      ]);
      // NaN/Infinity survive both stores (JSON has no NaN: the REST client sends protobuf's "NaN" strings)
      await tracker.logMetrics(runId, [
        { key: 'probe/nonfinite', value: NaN, step: 0, timestamp: t0 },
        { key: 'probe/nonfinite', value: -Infinity, step: 1, timestamp: t0 },
      ]);
      await tracker.setTags(runId, { 'ganstudy.model': 'alpha-gan', 'mlflow.source.git.commit': 'deadbeef' });
      await tracker.deleteTag(runId, 'tmp.to_delete');
      await tracker.deleteTag(runId, 'never.there'); // a no-op, not an error
      await tracker.setRunStatus(runId, 'FINISHED', t0 + 10_000);
      await tracker.flush();

      const run = await tracker.getRun(runId);
      expect(run.info).toMatchObject({
        runId,
        experimentId: expId,
        runName: 'alpha-gan/colormnist/lr=2e-4',
        status: 'FINISHED',
        endTime: t0 + 10_000,
      });
      expect(run.params).toEqual({ model: 'alpha-gan', lr_g: '0.0002', batch_size: '64', ema: 'false' });
      expect(run.tags).toMatchObject({
        'ganstudy.sweep': expName,
        'ganstudy.trial_id': 'abc123',
        'ganstudy.model': 'alpha-gan',
        'mlflow.source.git.commit': 'deadbeef',
      });
      expect(run.tags['tmp.to_delete']).toBeUndefined();
      expect(run.metrics['train/loss_d']).toBeCloseTo(curve(N_POINTS - 1), 12);
      expect(run.metrics['eval/fid']).toBe(30); // latest step

      const hist = await tracker.getMetricHistory(runId, 'train/loss_d');
      expect(hist.map((p) => p.step).sort((a, b) => a - b)).toEqual(Array.from({ length: N_POINTS }, (_, s) => s));
      for (const p of hist) expect(p.value).toBeCloseTo(curve(p.step), 12);
      // MLflow's SQL store (behind the server) clamps ±Infinity to ±Number.MAX_VALUE; NaN stays NaN
      const nonfinite = (await tracker.getMetricHistory(runId, 'probe/nonfinite'))
        .sort((a, b) => a.step - b.step)
        .map((p) => p.value);
      expect(nonfinite[0]).toBeNaN();
      expect([-Infinity, -Number.MAX_VALUE]).toContain(nonfinite[1]);
      expect(
        (await tracker.getMetricHistory(runId, 'eval/fid'))
          .map((p) => [p.step, p.value])
          .sort((a, b) => (a[0] as number) - (b[0] as number)),
      ).toEqual([
        [500, 80.5],
        [1000, 41.25],
        [1500, 30],
      ]);
    });

    it('resumes a run it did not create without logging a step twice', async () => {
      const other = make(); // a fresh tracker = a restarted trial process
      const t0 = 1_700_000_100_000;
      await other.logMetrics(
        runId,
        Array.from({ length: 40 }, (_, i) => ({
          key: 'train/loss_d',
          value: -1,
          step: N_POINTS - 20 + i,
          timestamp: t0 + i,
        })),
      );
      await other.flush();
      const hist = await other.getMetricHistory(runId, 'train/loss_d');
      const steps = hist.map((p) => p.step);
      expect(new Set(steps).size).toBe(steps.length);
      expect(steps.length).toBe(N_POINTS + 20);
      expect(
        hist
          .filter((p) => p.value === -1)
          .map((p) => p.step)
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 20 }, (_, i) => N_POINTS + i));
      await other.close();
    });

    it('stores artifacts at the root and in folders, lists and downloads them byte for byte', async () => {
      await tracker.logArtifact(runId, pngPath, '');
      await tracker.logArtifact(runId, jsonPath, 'config');
      const root = await tracker.listArtifacts(runId);
      expect(root).toEqual(
        expect.arrayContaining([
          { path: 'samples.png', isDir: false, size: PNG.length },
          expect.objectContaining({ path: 'config', isDir: true }),
        ]),
      );
      expect(await tracker.listArtifacts(runId, 'config')).toEqual([
        { path: 'config/config.json', isDir: false, size: readFileSync(jsonPath).length },
      ]);
      const out = path.join(scratch, `${name}-dl`, 'samples.png');
      await tracker.downloadArtifact(runId, 'samples.png', out);
      expect(readFileSync(out).equals(PNG)).toBe(true);
      await tracker.downloadArtifact(runId, 'config/config.json', out + '.json');
      expect(readFileSync(out + '.json', 'utf8')).toBe(readFileSync(jsonPath, 'utf8'));
    });

    it('searches every page of 60 runs, with tag / param / metric / status filters', async () => {
      const exp = await tracker.getOrCreateExperiment(`${expName}-search`);
      for (let i = 0; i < 60; i++) {
        const r = await tracker.createRun(exp, {
          runName: `run-${i}`,
          tags: { 'ganstudy.trial_id': `t${i}` },
          startTime: 1_700_000_000_000 + i,
        });
        await tracker.logParams(r.runId, { parity: i % 2 === 0 ? 'even' : 'odd' });
        await tracker.logMetrics(r.runId, [{ key: 'eval/score', value: i, step: 0, timestamp: 1 }]);
        if (i < 10) await tracker.setRunStatus(r.runId, 'FINISHED');
      }
      // a second client sees only what the first has pushed: REST writes are queued in the background
      await tracker.flush();
      const paged = opts.pageSizeTracker?.() ?? tracker;
      const all = await paged.searchRuns([exp]);
      expect(all).toHaveLength(60);
      expect(new Set(all.map((r) => r.info.runId)).size).toBe(60);
      expect((await paged.searchRuns([exp], "tags.`ganstudy.trial_id` = 't7'")).map((r) => r.info.runName)).toEqual([
        'run-7',
      ]);
      expect(await paged.searchRuns([exp], "params.parity = 'odd'")).toHaveLength(30);
      expect(
        (await paged.searchRuns([exp], 'metrics.`eval/score` > 50'))
          .map((r) => r.metrics['eval/score'])
          .sort((a, b) => (a as number) - (b as number)),
      ).toEqual([51, 52, 53, 54, 55, 56, 57, 58, 59]);
      expect(await paged.searchRuns([exp], "attributes.status = 'FINISHED' AND params.parity = 'even'")).toHaveLength(
        5,
      );
      if (paged !== tracker) await paged.close();
    });

    it('is read back by MLflow itself with every param, metric step and tag intact', async () => {
      const ours = await tracker.getRun(runId);
      const theirs = await readBack(runId);
      expect(theirs.status).toBe('FINISHED');
      expect(theirs.params).toEqual(ours.params);
      expect(theirs.tags).toMatchObject(ours.tags);
      for (const key of ['train/loss_d', 'eval/fid']) {
        const mine = (await tracker.getMetricHistory(runId, key))
          .map((p) => [p.step, p.value, p.timestamp])
          .sort((a, b) => (a[0] as number) - (b[0] as number));
        const got = (theirs.history[key] ?? [])
          .map((p) => [p.step, p.value, p.timestamp])
          .sort((a, b) => (a[0] as number) - (b[0] as number));
        expect(got).toEqual(mine);
      }
      expect(theirs.history['train/loss_d']).toHaveLength(N_POINTS + 20);
      await tracker.close();
    });
  });
}

// ---------- REST backend, read back through the server's own API ----------

const serverUri = inject('mlflowUri');
const restJournal = path.join(scratch, 'journal-rest');

/** The parts of MLflow's REST answers (runs/get, metrics/get-history) that the read-back uses. */
interface RestAnswer {
  run: {
    info: { status: string };
    data: {
      metrics: { key: string }[];
      params?: { key: string; value: string }[];
      tags?: { key: string; value: string }[];
    };
  };
  metrics: unknown[];
}

async function restReadBack(runId: string, server = serverUri): Promise<ReadBack> {
  const get = async (endpoint: string, q: Record<string, string>): Promise<RestAnswer> => {
    const res = await fetch(`${server}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(q)}`);
    expect(res.ok).toBe(true);
    return (await res.json()) as RestAnswer;
  };
  const { run } = await get('runs/get', { run_id: runId });
  const history: ReadBack['history'] = {};
  for (const m of run.data.metrics as { key: string }[]) {
    const h = await get('metrics/get-history', { run_id: runId, metric_key: m.key, max_results: '25000' });
    history[m.key] = (h.metrics as { step: number | string; value: number; timestamp: number | string }[]).map((p) => ({
      step: Number(p.step),
      value: p.value,
      timestamp: Number(p.timestamp),
    }));
  }
  const kv = (xs: { key: string; value: string }[] = []): Record<string, string> =>
    Object.fromEntries(xs.map((x) => [x.key, x.value]));
  return { params: kv(run.data.params), tags: kv(run.data.tags), status: run.info.status, history };
}

const restStats: number[] = [];
conformance(
  'rest',
  () => {
    const t = new MlflowRestTracker(serverUri, { journalDir: restJournal });
    restStats.push(0);
    trackers.push(t);
    return t;
  },
  (runId) => restReadBack(runId),
  { pageSizeTracker: () => new MlflowRestTracker(serverUri, { journalDir: restJournal, searchPageSize: 7 }) },
);
const trackers: MlflowRestTracker[] = [];

describe('a keep-alive connection the server closed while the process was busy', () => {
  it('is sent again on a fresh one, not reported as an outage', async () => {
    const lines: string[] = [];
    const t = new MlflowRestTracker(serverUri, {
      journalDir: path.join(scratch, 'journal-idle'),
      onStatus: (line) => lines.push(line),
    });
    const name = `idle-${Date.now()}`;
    const id = await t.getOrCreateExperiment(name);
    // a synchronous stretch (as an evaluation is) longer than the server's keep-alive: the socket's close is not
    // seen by the client's pool until the next request goes out on it
    const until = Date.now() + 7_000;
    while (Date.now() < until);
    expect(await t.getExperimentByName(name)).toBe(id);
    expect(lines).toEqual([]);
  }, 60_000);
});

// ---------- REST against a PostgreSQL-backed server (CI provides the database; .ci/run) ----------

const postgresUri = testPostgresUri();
const pgServer = postgresUri ? await startMlflowServer({ backendStoreUri: postgresUri }) : undefined;
afterAll(async () => pgServer?.stop());
if (pgServer) {
  const pgJournal = path.join(scratch, 'journal-pg');
  conformance(
    'rest-postgresql',
    () => {
      const t = new MlflowRestTracker(pgServer.uri, { journalDir: pgJournal });
      trackers.push(t);
      return t;
    },
    (runId) => restReadBack(runId, pgServer.uri),
    { pageSizeTracker: () => new MlflowRestTracker(pgServer.uri, { journalDir: pgJournal, searchPageSize: 7 }) },
  );
} else {
  describe.skip(`Tracker conformance: rest-postgresql (set ${POSTGRES_ENV}; CI does)`, () => {
    it('runs against PostgreSQL', () => {});
  });
}

// ---------- openTracker on a sqlite URI: ganstudy starts the server; read back by MLflow's Python client ----------

const sqliteDir = path.join(scratch, 'sqlite-store');
const sqliteUri = `sqlite:///${path.join(sqliteDir, 'mlflow.db')}`;
const PY = path.resolve('.venv/bin/python');
const opened = await openTracker(sqliteUri, { journalDir: path.join(scratch, 'journal-sqlite') });
afterAll(async () => opened.server?.stop());

async function sqliteReadBack(runId: string): Promise<ReadBack> {
  const script = `
import json, sys, math
import mlflow
c = mlflow.MlflowClient(tracking_uri=${JSON.stringify(sqliteUri)})
r = c.get_run(${JSON.stringify(runId)})
hist = {k: [{"step": m.step, "value": m.value if math.isfinite(m.value) else str(m.value), "timestamp": m.timestamp} for m in c.get_metric_history(r.info.run_id, k)] for k in r.data.metrics}
mlflow.set_tracking_uri(${JSON.stringify(sqliteUri)})
runs = mlflow.search_runs(experiment_ids=[r.info.experiment_id], filter_string="tags.\`ganstudy.trial_id\` = 'abc123'", output_format="list")
assert [x.info.run_id for x in runs] == [r.info.run_id], runs
print(json.dumps({"params": r.data.params, "tags": r.data.tags, "status": r.info.status, "history": hist}))
`;
  const { stdout } = await exec(PY, ['-c', script], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as ReadBack;
}

let openedOnce = false;
conformance(
  'sqlite-local-server',
  () => {
    if (openedOnce) return new MlflowRestTracker(opened.uri, { journalDir: path.join(scratch, 'journal-sqlite') });
    openedOnce = true;
    return opened;
  },
  sqliteReadBack,
);

describe('the local server of a database URI', () => {
  it('stops when its tracker closes (the conformance run above closed it)', async () => {
    await opened.close().catch(() => {});
    await expect(fetch(`${opened.uri}/health`)).rejects.toThrow();
  });

  it('dies with a process that is SIGKILLed (no hook runs: the watchdog ends it)', async () => {
    const child = `
      import { openTracker } from ${JSON.stringify(path.resolve('src/tracking/open.ts'))};
      const t = await openTracker(${JSON.stringify(`sqlite:///${path.join(scratch, 'killed', 'mlflow.db')}`)});
      console.log(t.uri);
      setInterval(() => {}, 1000);`;
    const file = path.join(scratch, 'killed.mts');
    writeFileSync(file, child);
    const p = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const uri = await new Promise<string>((resolve, reject) => {
      p.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
      p.on('exit', (code) => reject(new Error(`child exited ${code} before its server was up`)));
    });
    expect((await fetch(`${uri}/health`)).ok).toBe(true);
    p.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      alive = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(1000) }).then(
        () => true,
        () => false,
      );
    }
    expect(alive).toBe(false);
  }, 120_000);
});

describe('tracking URI (design.md)', () => {
  it('http(s) is a server; a database URI gets a local server; unset is sqlite:///mlflow.db with ./mlartifacts', () => {
    expect(resolveTrackingUri('http://127.0.0.1:5000/')).toEqual({ kind: 'server', uri: 'http://127.0.0.1:5000' });
    expect(resolveTrackingUri('sqlite:///x/m.db', '/w')).toEqual({
      kind: 'database',
      uri: 'sqlite:////w/x/m.db',
      sqliteFile: '/w/x/m.db',
      artifactsDestination: '/w/x/mlartifacts',
    });
    expect(resolveTrackingUri('sqlite:////abs/m.db', '/w').uri).toBe('sqlite:////abs/m.db');
    expect(resolveTrackingUri('postgresql://u:p@db:5432/mlflow', '/w')).toEqual({
      kind: 'database',
      uri: 'postgresql://u:p@db:5432/mlflow',
      artifactsDestination: '/w/mlartifacts',
    });
    const saved = process.env.MLFLOW_TRACKING_URI;
    delete process.env.MLFLOW_TRACKING_URI;
    try {
      expect(resolveTrackingUri(undefined, '/w')).toEqual({
        kind: 'database',
        uri: 'sqlite:////w/mlflow.db',
        sqliteFile: '/w/mlflow.db',
        artifactsDestination: '/w/mlartifacts',
      });
    } finally {
      if (saved !== undefined) process.env.MLFLOW_TRACKING_URI = saved;
    }
  });

  it('refuses the file store in one line that says why and what to use', () => {
    for (const uri of ['file:./mlruns', 'file:///tmp/x', './mlruns', '/tmp/mlruns']) {
      expect(() => resolveTrackingUri(uri)).toThrow(/file store.*deprecat.*sqlite:\/\/\/mlflow\.db/);
      expect(fileStoreRefusal(uri)).not.toMatch(/\n/);
    }
    expect(() => resolveTrackingUri('s3://bucket/x')).toThrow(/http\(s\).*sqlite/);
  });
});

// ---------- outage drill on a server of our own ----------

/**
 * `mlflow server` runs uvicorn as a child process; SIGKILL of the parent (MlflowServer.kill) leaves that
 * child serving the port. Kill the uvicorn process(es) this test started — found by their unique port —
 * so the outage is real.
 */
function killUvicornOnPort(uri: string): void {
  const port = new URL(uri).port;
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return; // no /proc: nothing we can find
  }
  for (const pid of pids) {
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = cmd.indexOf('--port');
    if (cmd.some((c) => c === 'uvicorn' || c.endsWith('/uvicorn')) && i >= 0 && cmd[i + 1] === port) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

describe('outage drill', () => {
  it('keeps logging while the server is down, loses nothing, logs nothing twice; a dead process’s journal is resent', async () => {
    const server = await startMlflowServer();
    const journalDir = path.join(scratch, 'journal-drill');
    try {
      const tracker = new MlflowRestTracker(server.uri, { journalDir, flushMaxWaitMs: 120_000 });
      const exp = await tracker.getOrCreateExperiment('drill');
      const { runId } = await tracker.createRun(exp, { runName: 'drill' });
      const pt = (s: number): MetricPoint => ({
        key: 'train/loss_g',
        value: s / 7,
        step: s,
        timestamp: 1_700_000_000_000 + s,
      });
      for (let s = 0; s < 100; s++) await tracker.logMetrics(runId, [pt(s)]);
      await tracker.flush();
      killUvicornOnPort(server.uri);
      await server.kill();
      await expect(fetch(`${server.uri}/health`)).rejects.toThrow(); // the outage is real

      let slowest = 0;
      for (let s = 100; s < 300; s++) {
        const t = performance.now();
        await tracker.logMetrics(runId, [pt(s), pt(s - 50)]); // replays of old steps are dropped
        slowest = Math.max(slowest, performance.now() - t);
      }
      await tracker.setTags(runId, { 'ganstudy.after_outage': 'yes' });
      await tracker.setRunStatus(runId, 'FINISHED');
      expect(slowest).toBeLessThan(100); // never waits for the server
      expect(tracker.pending).toBeGreaterThan(0);

      // a second process logs to the same run while the server is down and dies without flushing
      const child = `
        import { MlflowRestTracker } from ${JSON.stringify(path.resolve('src/tracking/mlflow-rest.ts'))};
        const t = new MlflowRestTracker(${JSON.stringify(server.uri)}, { journalDir: ${JSON.stringify(journalDir)} });
        const pts = [];
        for (let s = 280; s < 350; s++) pts.push({ key: 'train/loss_g', value: s / 7, step: s, timestamp: 1700000000000 + s });
        await t.logMetrics(${JSON.stringify(runId)}, pts);
        process.exit(0);`;
      const file = path.join(scratch, 'child.mts');
      writeFileSync(file, child);
      await new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
      });

      await server.restart();
      await tracker.flush();
      // the next tracker for this server adopts the dead child's journal
      const next = new MlflowRestTracker(server.uri, { journalDir });
      expect(next.pending).toBe(70);
      await next.flush();

      const hist = await next.getMetricHistory(runId, 'train/loss_g');
      const steps = hist.map((p) => p.step).sort((a, b) => a - b);
      expect(steps).toEqual(Array.from({ length: 350 }, (_, s) => s));
      for (const p of hist) expect(p.value).toBeCloseTo(p.step / 7, 12);
      const run = await next.getRun(runId);
      expect(run.info.status).toBe('FINISHED');
      expect(run.tags['ganstudy.after_outage']).toBe('yes');
      await tracker.close();
      await next.close();
    } finally {
      await server.stop();
      killUvicornOnPort(server.uri);
    }
  }, 180_000);
});

afterAll(() => {
  const lat = trackers.flatMap((t) => t.stats.latenciesMs).sort((a, b) => a - b);
  if (lat.length > 0) {
    const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] as number;
    const reqs = trackers.reduce((a, t) => a + t.stats.requests, 0);
    const pts = trackers.reduce((a, t) => a + t.stats.metrics, 0);
    console.log(
      `log-batch latency over ${reqs} requests (${pts} metrics): median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, max ${q(1).toFixed(1)} ms`,
    );
    for (const [lo, hi] of [
      [1, 10],
      [11, 999],
      [1000, 1000],
    ] as const) {
      const sel = trackers
        .flatMap((t) =>
          t.stats.latenciesMs.filter(
            (_, i) => (t.stats.entities[i] as number) >= lo && (t.stats.entities[i] as number) <= hi,
          ),
        )
        .sort((a, b) => a - b);
      if (sel.length)
        console.log(
          `  ${lo}-${hi} entities: ${sel.length} requests, median ${(sel[Math.floor(sel.length / 2)] as number).toFixed(1)} ms`,
        );
    }
  }
});
