/**
 * Tracking fault drills: real `ganstudy trial` processes (native TensorFlow, a tiny synthetic sweep) against real
 * MLflow servers on loopback, with the faults a shared cluster produces:
 *
 * - several workers on one sweep, the same index twice at once (a pod rescheduled while the old one runs);
 * - SIGKILL between checkpoints, restarted on the same run folder and on a fresh one (an emptyDir pod);
 * - the MLflow server killed mid-trial and started again;
 * - a proxy that delays, resets (before and after the server saw the request) and truncates answers, in front of a
 *   server addressed with a password in its URI;
 * - the journal folder removed mid-trial;
 * - a doctored store: a run with this trial's id but other params, and two unfinished runs of one trial.
 *
 * After each drill the store is counted through the REST API: exactly one FINISHED run per trial, no (key, step)
 * point twice, nothing of the training curve missing, no run left RUNNING, no process of the drill left, no secret
 * in any output or file. A table of the drills is printed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MlflowRestTracker } from '../src/tracking/index.js';
import type { MetricPoint, Run } from '../src/tracking/types.js';
import { startMlflowServer, type MlflowServer } from './setup/mlflow-server.js';

const TINY = 'test/fixtures/sweeps/tiny.ts';
const MAIN = 'src/cli/main.ts';
const STEPS = 24;
const CKPT = 8;
const SECRET = `pw-${Math.random().toString(36).slice(2)}-drill`;

let tmp: string;
let server: MlflowServer;
let tracker: MlflowRestTracker;
const table: { fault: string; runs: number; points: number; lost: number; duplicated: number }[] = [];
const outputs: string[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ganstudy-faults-tracking-'));
  server = await startMlflowServer();
  tracker = new MlflowRestTracker(server.uri, { journalDir: path.join(tmp, 'journal-test') });
}, 180_000);

afterAll(async () => {
  await tracker?.close();
  await server?.stop();
  console.log(
    ['fault'.padEnd(44) + 'runs  points  lost  duplicated']
      .concat(
        table.map(
          (r) =>
            `${r.fault.padEnd(44)}${String(r.runs).padStart(4)}${String(r.points).padStart(8)}` +
            `${String(r.lost).padStart(6)}${String(r.duplicated).padStart(12)}`,
        ),
      )
      .join('\n'),
  );
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- processes -------------------------------------------------------------------------------------------------

interface Cli {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  output(): string;
}

function start(args: string[], env: NodeJS.ProcessEnv): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => {
      outputs.push(output);
      resolve({ code, signal, output });
    }),
  );
  return { child, done, output: () => output };
}

/** live processes whose environment holds TINY_NAME=<name> */
function processesOf(name: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`TINY_NAME=${name}`)) continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push(pid);
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return out;
}

const started = new Set<string>();
afterEach(() => {
  for (const name of started) for (const pid of processesOf(name)) process.kill(pid, 'SIGKILL');
  started.clear();
});

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}

function stepReached(output: string): number {
  return Math.max(0, ...[...output.matchAll(/step (\d+)\/\d+ \(/g)].map((m) => Number(m[1])));
}

let drills = 0;
function drill(label: string, uri = server.uri, extra: Record<string, string> = {}) {
  const name = `ft-${label}-${process.pid}-${drills++}`;
  started.add(name);
  const dir = path.join(tmp, name);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MLFLOW_TRACKING_URI: uri,
    GANSTUDY_RUNS_DIR: path.join(dir, 'runs'),
    GANSTUDY_JOURNAL_DIR: path.join(dir, 'journal'),
    GANSTUDY_CACHE_DIR: path.join(tmp, 'cache'),
    GANSTUDY_CLAIM_HEARTBEAT_S: '1',
    TINY_NAME: name,
    TINY_STEPS: String(STEPS),
    TINY_CKPT: String(CKPT),
    TINY_METRICS: 'ms_ssim',
    ...extra,
  };
  // --verbose: the trial's JSON summary (its status) is printed only then
  const trial = (index: number, more: Record<string, string> = {}): Cli =>
    start(['trial', TINY, '--index', String(index), '--verbose'], { ...env, ...more });
  return { name, dir, env, trial };
}

// ---- counting through the REST API -----------------------------------------------------------------------------

const evenSteps = (to: number): number[] => Array.from({ length: to / 2 }, (_, i) => 2 * (i + 1));

async function allRuns(experiment: string): Promise<Run[]> {
  const id = await tracker.getExperimentByName(experiment);
  return id === undefined ? [] : tracker.searchRuns([id]);
}

/**
 * Counts the drill's store and asserts the exactly-once properties; returns the table row.
 * `trials`: how many trials the drill ran (each must have exactly one FINISHED run).
 */
async function audit(fault: string, name: string, trials: number): Promise<void> {
  await waitFor('no process of the drill', () => (processesOf(name).length === 0 ? true : undefined), 10_000);
  const runs = await allRuns(name);
  const byTrial = new Map<string, Run[]>();
  for (const r of runs) {
    const id = r.tags['ganstudy.trial_id'];
    if (id) byTrial.set(id, [...(byTrial.get(id) ?? []), r]);
  }
  let points = 0;
  let duplicated = 0;
  let lost = 0;
  for (const [id, rs] of byTrial) {
    expect(
      rs.map((r) => r.info.status),
      `trial ${id}`,
    ).toEqual(['FINISHED']);
    const run = rs[0]!;
    for (const key of Object.keys(run.metrics)) {
      const hist: MetricPoint[] = await tracker.getMetricHistory(run.info.runId, key);
      points += hist.length;
      duplicated += hist.length - new Set(hist.map((p) => p.step)).size;
    }
    const updates = await tracker.getMetricHistory(run.info.runId, 'train/generator_updates');
    const curve = new Set(updates.map((p) => p.step));
    lost += evenSteps(STEPS).filter((s) => !curve.has(s)).length;
    // the final scores: some evaluation key at the last step
    const scoreKeys = Object.keys(run.metrics).filter((k) => /^(eval|val|test)\//.test(k));
    if (scoreKeys.length === 0) lost++;
  }
  table.push({ fault, runs: runs.length, points, lost, duplicated });
  expect(byTrial.size).toBe(trials);
  expect(runs.filter((r) => r.info.status === 'RUNNING').map((r) => r.info.runId)).toEqual([]);
  expect(duplicated).toBe(0);
  expect(lost).toBe(0);
  // the claims were released
  const id = (await tracker.getExperimentByName(name))!;
  const claims = Object.keys(await tracker.getExperimentTags(id)).filter((k) => k.startsWith('ganstudy.claim.'));
  expect(claims).toEqual([]);
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** the drill's trial ids, as `ganstudy sweep --dry-run` lists them */
async function trialIds(env: NodeJS.ProcessEnv): Promise<string[]> {
  const r = await start(['sweep', TINY, '--dry-run'], env).done;
  expect(r.code, r.output).toBe(0);
  return [...r.output.matchAll(/^\s+\d+\s+([0-9a-f]{16})\s/gm)].map((m) => m[1]!);
}

// ---- a fault-injecting HTTP proxy --------------------------------------------------------------------------------

type Fault = 'pass' | 'delay' | 'reset-before' | 'reset-after' | 'truncate';

/**
 * Forwards to `target`; request n suffers FAULTS[n % length]. `reset-after` and `truncate` let the server act on
 * the request and lose (all or part of) the answer: the case that duplicates writes.
 */
async function faultyProxy(target: string, auth: string) {
  const faults: Fault[] = ['pass', 'delay', 'reset-after', 'pass', 'truncate', 'pass', 'reset-before', 'delay', 'pass'];
  const counts: Record<Fault, number> = { pass: 0, delay: 0, 'reset-before': 0, 'reset-after': 0, truncate: 0 };
  let n = 0;
  let authorized = 0;
  const upstream = new URL(target);
  const proxy = http.createServer((req, res) => {
    const fault = faults[n++ % faults.length]!;
    counts[fault]++;
    if (req.headers.authorization === auth) authorized++;
    if (fault === 'reset-before') return void req.socket.destroy();
    const fwd = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          if (fault === 'reset-after') return void req.socket.destroy();
          const headers = { ...up.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          if (fault === 'truncate') {
            res.writeHead(up.statusCode ?? 502, headers);
            res.write(body.subarray(0, Math.floor(body.length / 2)));
            return void setTimeout(() => req.socket.destroy(), 20);
          }
          const send = (): void => void res.writeHead(up.statusCode ?? 502, headers).end(body);
          if (fault === 'delay') setTimeout(send, 300);
          else send();
        });
      },
    );
    fwd.on('error', () => req.socket.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as { port: number }).port;
  return {
    port,
    counts,
    authorized: () => authorized,
    total: () => n,
    close: () =>
      new Promise<void>((r) => {
        proxy.closeAllConnections();
        proxy.close(() => r());
      }),
  };
}

// ---- drills ------------------------------------------------------------------------------------------------------

describe('tracking fault drills (real trials, real MLflow servers, loopback)', () => {
  it('several workers on one sweep, the same index twice at once: one run per trial; the twin waits, skips', async () => {
    const d = drill('twins', server.uri, { TINY_LRS: '2e-4,1e-4' });
    const a = d.trial(0);
    const b = d.trial(0);
    const c = d.trial(1);
    const [ra, rb, rc] = await Promise.all([a.done, b.done, c.done]);
    for (const r of [ra, rb, rc]) expect(r.code, r.output).toBe(0);
    const statuses = [ra, rb].map((r) => /"status":"(\w+)"/.exec(r.output)?.[1]).sort();
    expect(statuses).toEqual(['finished', 'skipped']);
    expect(ra.output + rb.output).toMatch(/another worker holds this trial/);
    await audit('same index twice + a third worker', d.name, 2);
  }, 240_000);

  for (const folder of ['same', 'fresh'] as const) {
    it(`SIGKILL between checkpoints, restarted on the ${folder} run folder: no step twice, nothing lost`, async () => {
      const d = drill(`kill-${folder}`);
      const first = d.trial(0);
      const past = (): true | undefined => (stepReached(first.output()) >= CKPT + 4 ? true : undefined);
      await waitFor('training past the first checkpoint', past);
      process.kill(first.child.pid!, 'SIGKILL');
      await first.done;
      // a journal planted in the user's folder with no header for this store is never replayed
      const prefix = createHash('sha256').update(server.uri).digest('hex').slice(0, 12);
      const planted = path.join(d.dir, 'journal', `${prefix}-999999-0.jsonl`);
      const op = { kind: 'tag', runId: 'x', key: 'planted', value: 'y' };
      fs.writeFileSync(planted, JSON.stringify({ s: 1, o: op }) + '\n');
      const again = d.trial(0, folder === 'fresh' ? { GANSTUDY_RUNS_DIR: path.join(d.dir, 'runs-fresh') } : {});
      const r = await again.done;
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/reusing run \w+ \(was RUNNING\)/);
      expect(r.output).toMatch(/not replaying .*999999-0\.jsonl \(no header for this store\)/);
      if (folder === 'same') expect(r.output).toMatch(new RegExp(`resuming from checkpoint step ${CKPT}`));
      else expect(r.output).not.toMatch(/resuming from checkpoint/);
      expect(fs.statSync(path.join(d.dir, 'journal')).mode & 0o777).toBe(0o700);
      await audit(`SIGKILL, restart on the ${folder} folder`, d.name, 1);
    }, 240_000);
  }

  it('the MLflow server killed mid-trial and restarted: one line for the outage, one for its end', async () => {
    const own = await startMlflowServer();
    try {
      const d = drill('server-kill', own.uri);
      const cli = d.trial(0);
      await waitFor('training past step 6', () => (stepReached(cli.output()) >= 6 ? true : undefined));
      await own.kill();
      await expect(fetch(`${own.uri}/health`)).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 3_000));
      await own.restart();
      const r = await cli.done;
      expect(r.code, r.output).toBe(0);
      const down = r.output.match(/retrying with backoff/g) ?? [];
      const back = r.output.match(/answers again after/g) ?? [];
      expect(down.length).toBeGreaterThanOrEqual(1);
      expect(down.length).toBeLessThanOrEqual(3);
      expect(back.length).toBe(down.length);
      const audited = new MlflowRestTracker(own.uri, { journalDir: path.join(tmp, 'journal-test') });
      const saved = tracker;
      tracker = audited;
      try {
        await audit('server killed and restarted', d.name, 1);
      } finally {
        tracker = saved;
        await audited.close();
      }
    } finally {
      await own.stop();
    }
  }, 240_000);

  it('a proxy that delays, resets and truncates answers; a password in the URI is used, never shown', async () => {
    const auth = `Basic ${Buffer.from(`drill:${SECRET}`).toString('base64')}`;
    const proxy = await faultyProxy(server.uri, auth);
    try {
      const d = drill('proxy', `http://drill:${SECRET}@127.0.0.1:${proxy.port}`);
      const r = await d.trial(0).done;
      expect(r.code, r.output).toBe(0);
      expect(r.output).not.toMatch(/ZodError|at .*\.ts:\d+/); // no stack trace for a cut-off answer
      expect(proxy.counts['truncate']).toBeGreaterThan(2);
      expect(proxy.counts['reset-after']).toBeGreaterThan(2);
      expect(proxy.authorized()).toBe(proxy.total());
      await audit('proxy: delay, reset, truncate', d.name, 1);
      const files = filesUnder(d.dir).concat(filesUnder(server.dir));
      for (const f of files) expect(fs.readFileSync(f).includes(SECRET), f).toBe(false);
    } finally {
      await proxy.close();
    }
  }, 240_000);

  it('the journal folder removed mid-trial: recreated, nothing lost', async () => {
    const d = drill('journal-rm');
    const cli = d.trial(0);
    const journal = path.join(d.dir, 'journal');
    for (const at of [4, 10, 16]) {
      await waitFor(`training past step ${at}`, () => (stepReached(cli.output()) >= at ? true : undefined));
      fs.rmSync(journal, { recursive: true, force: true });
    }
    const r = await cli.done;
    expect(r.code, r.output).toBe(0);
    await audit('journal folder removed 3 times', d.name, 1);
  }, 240_000);

  it('a doctored store: a run with the trial id but other params, two unfinished runs of one trial', async () => {
    const d = drill('doctored', server.uri, { TINY_LRS: '2e-4,1e-4' });
    const [id0, id1] = await trialIds(d.env);
    expect(id0 && id1).toBeTruthy();
    const exp = await tracker.getOrCreateExperiment(d.name);
    const tag = (id: string): Record<string, string> => ({ 'ganstudy.trial_id': id, 'ganstudy.sweep': d.name });
    const wrong = await tracker.createRun(exp, { runName: 'doctored', tags: tag(id0!) });
    await tracker.logParams(wrong.runId, { trial_id: id0!, lr_g: 0.5 });
    await tracker.logMetrics(wrong.runId, [{ key: 'train/generator_updates', value: 9, step: 2, timestamp: 1 }]);
    await tracker.setRunStatus(wrong.runId, 'KILLED');
    const older = await tracker.createRun(exp, { runName: 'older', tags: tag(id1!), startTime: Date.now() - 60_000 });
    await tracker.logParams(older.runId, { trial_id: id1! });
    const pts = [2, 4].map((s) => ({ key: 'train/generator_updates', value: s, step: s, timestamp: 1 }));
    await tracker.logMetrics(older.runId, pts);
    const newer = await tracker.createRun(exp, { runName: 'newer', tags: tag(id1!) });
    await tracker.flush();

    const r0 = await d.trial(0).done;
    const r1 = await d.trial(1).done;
    expect(r0.code, r0.output).toBe(0);
    expect(r1.code, r1.output).toBe(0);
    expect(r0.output).toMatch(new RegExp(`run ${wrong.runId} \\(KILLED\\) is not this trial's run: its params differ`));
    expect(r1.output).toMatch(new RegExp(`run ${newer.runId} \\(RUNNING\\) is not this trial's run: a duplicate`));
    expect(r1.output).toMatch(new RegExp(`reusing run ${older.runId}`));
    const w = await tracker.getRun(wrong.runId);
    expect(w.tags['ganstudy.trial_id']).toBeUndefined();
    expect(w.tags['ganstudy.superseded_trial_id']).toBe(id0);
    expect(w.params['lr_g']).toBe('0.5');
    const n = await tracker.getRun(newer.runId);
    expect(n.info.status).toBe('KILLED');
    expect(n.tags['ganstudy.superseded']).toMatch(/duplicate/);
    await audit('doctored: wrong params; two unfinished runs', d.name, 2);
  }, 240_000);

  it('no secret in any output of the drills', () => {
    expect(outputs.length).toBeGreaterThan(5);
    for (const o of outputs) expect(o.includes(SECRET)).toBe(false);
  });
});
