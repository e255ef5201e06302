/**
 * Local fault drills with real components: native TensorFlow, real files, real processes started the ways users
 * start them (`node --import tsx`, `npx tsx`, `npm run sweep --`), the real MLflow server of the test setup.
 *
 * - damaged checkpoints (zero-filled or truncated weights.bin, corrupt trainer-state.json): the loader says so in
 *   one line naming the file, falls back to the older kept checkpoint and the run continues the same trajectory;
 * - SIGTERM mid-training through every launcher: exit 130, a checkpoint of the step reached, the run KILLED, no
 *   process left; the next run resumes from that step and retrains nothing;
 * - SIGKILL of the scheduler (or of npm): its trial children notice and stop within seconds;
 * - a signal while the tracker retries an unreachable server ends the process within the settle bound.
 *
 * Process checks read the process table (/proc): every process of a drill carries TINY_NAME=<unique> in its
 * environment, children inherit it, so "nothing left" means no process with that entry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { createModel, defaultHyperparameters } from '../src/models/index.js';
import type { GanModel, Losses } from '../src/models/types.js';
import { latestCheckpoint, train, TRAINER_STATE_FILE } from '../src/train/index.js';
import type { TrainOptions } from '../src/train/types.js';
import { MlflowRestTracker } from '../src/tracking/index.js';
import type { Run, Tracker } from '../src/tracking/types.js';

const TINY = 'test/fixtures/sweeps/tiny.ts';
const MAIN = 'src/cli/main.ts';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ganstudy-faults-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- damage ----------------------------------------------------------------------------------------------------

type Damage = 'zero-filled weights.bin' | 'truncated weights.bin' | 'corrupt trainer-state.json';
const DAMAGES: Damage[] = ['zero-filled weights.bin', 'truncated weights.bin', 'corrupt trainer-state.json'];
/** what the one-line message must say about each damage */
const DAMAGE_WORDS: Record<Damage, RegExp> = {
  'zero-filled weights.bin': /weights\.bin: all \d+ bytes are zero/,
  'truncated weights.bin': /weights\.bin: truncated: \d+ of \d+ bytes/,
  'corrupt trainer-state.json': /trainer-state\.json: contents changed since it was written/,
};

function damage(ckptDir: string, kind: Damage): void {
  const weights = path.join(ckptDir, 'weights.bin');
  if (kind === 'zero-filled weights.bin') fs.writeFileSync(weights, Buffer.alloc(fs.statSync(weights).size));
  else if (kind === 'truncated weights.bin') fs.truncateSync(weights, Math.floor(fs.statSync(weights).size / 2));
  else {
    // one flipped digit: still valid JSON of the right shape, which only the checksum can tell from the original
    const file = path.join(ckptDir, TRAINER_STATE_FILE);
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(
      file,
      text.replace(/"nextBatch": (\d+)/, (_, n: string) => `"nextBatch": ${Number(n) + 1}`),
    );
  }
}

describe('damaged checkpoints (in process)', () => {
  let data: Dataset;
  beforeAll(async () => {
    data = await loadDataset({ name: 'synthetic', resolution: 28, channels: 3, size: 256, seed: 0 });
  });
  const tinyModel = (): GanModel =>
    createModel({
      model: 'dcgan',
      arch: { resolution: 28, channels: 3, zDim: 16, widthMultiplier: 0.125 },
      hp: { ...defaultHyperparameters('dcgan'), batchSize: 8 },
      seed: 1,
    });
  let dirs = 0;
  const runTo = async (runDir: string, steps: number, extra: Partial<TrainOptions> = {}) => {
    const losses = new Map<number, Losses>();
    const warnings: string[] = [];
    const result = await train({
      model: tinyModel(),
      data: data.train,
      steps,
      seed: 7,
      runDir,
      checkpointEvery: 3,
      sampleEvery: 0,
      logEvery: 1,
      warn: (line) => warnings.push(line),
      onEvent: (e) => void (e.type === 'progress' && losses.set(e.step, e.losses)),
      ...extra,
    });
    return { result, losses, warnings };
  };
  // bit-identical in one process (see test/train.test.ts on resume tolerance)
  const expectSame = (a: Losses, b: Losses): void => expect(a).toEqual(b);

  for (const kind of DAMAGES) {
    const title = `${kind} in the newest checkpoint: one line naming the file, resume from the older one, same losses`;
    it(title, async () => {
      const full = await runTo(path.join(tmp, `full-${dirs++}`), 9);
      const dir = path.join(tmp, `damaged-${dirs++}`);
      await runTo(dir, 6); // checkpoints step-3 and step-6 (two kept)
      damage(path.join(dir, 'checkpoints', 'step-6'), kind);
      expect(await latestCheckpoint(dir)).toEqual({ step: 3, dir: path.join(dir, 'checkpoints', 'step-3') });

      const resumed = await runTo(dir, 9);
      expect(resumed.warnings).toHaveLength(1);
      const [line] = resumed.warnings;
      expect(line).not.toMatch(/\n/);
      expect(line).toContain(path.join(dir, 'checkpoints', 'step-6'));
      expect(line).toMatch(DAMAGE_WORDS[kind]);
      expect(line).toMatch(/moved to \.invalid-step-6-\d+; trying step-3$/);
      expect(resumed.result).toMatchObject({ status: 'finished', step: 9, resumedFrom: 3 });
      // lost: steps 4..6, trained again; they match the uninterrupted run exactly
      expect([...resumed.losses.keys()]).toEqual([4, 5, 6, 7, 8, 9]);
      for (let s = 4; s <= 9; s++) expectSame(resumed.losses.get(s)!, full.losses.get(s)!);
      // the damaged folder was kept for inspection only until a newer checkpoint superseded it
      expect(fs.readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['step-6', 'step-9']);
    });
  }

  it('every kept checkpoint damaged: says so and trains from step 0 like a fresh run', async () => {
    const fresh = await runTo(path.join(tmp, `fresh-${dirs++}`), 4);
    const dir = path.join(tmp, `all-damaged-${dirs++}`);
    await runTo(dir, 6);
    damage(path.join(dir, 'checkpoints', 'step-6'), 'truncated weights.bin');
    damage(path.join(dir, 'checkpoints', 'step-3'), 'zero-filled weights.bin');
    const r = await runTo(dir, 4);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(/step-6[/\\]weights\.bin: truncated.*trying step-3$/);
    expect(r.warnings[1]).toMatch(/step-3[/\\]weights\.bin: all \d+ bytes are zero.*/);
    expect(r.warnings[1]).toMatch(/no older checkpoint: training starts from step 0$/);
    expect(r.result).toMatchObject({ status: 'finished', step: 4, resumedFrom: null });
    for (let s = 1; s <= 4; s++) expectSame(r.losses.get(s)!, fresh.losses.get(s)!);
  });
});

// ---- processes -------------------------------------------------------------------------------------------------

type Launcher = 'node --import tsx' | 'npx tsx' | 'npm run sweep --';

interface Cli {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  output(): string;
}

/** Starts `ganstudy <args>` as a user would, in its own process group (cleanup can reach strays). */
function start(launcher: Launcher, args: string[], env: NodeJS.ProcessEnv): Cli {
  const [cmd, ...pre] =
    launcher === 'node --import tsx'
      ? [process.execPath, '--import', 'tsx', MAIN]
      : launcher === 'npx tsx'
        ? ['npx', 'tsx', MAIN]
        : ['npm', 'run', '--silent', args[0], '--'];
  const rest = launcher === 'npm run sweep --' ? args.slice(1) : args;
  const child = spawn(cmd, [...pre, ...rest], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, output })),
  );
  return { child, done, output: () => output };
}

/** pids (and parent pids) of live processes whose environment holds TINY_NAME=<name> */
function processesOf(name: string): { pid: number; ppid: number; cmd: string }[] {
  const out: { pid: number; ppid: number; cmd: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!env.split('\0').includes(`TINY_NAME=${name}`)) continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue; // exited, waiting for its parent to read the status
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid, ppid: Number(ppid), cmd });
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return out;
}

/** whether the process has a handler for SIGTERM (bit 15 of SigCgt in /proc/<pid>/status) */
function catchesSigterm(pid: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}

const started = new Set<string>();
afterEach(() => {
  // a failed drill must not leave trials training in the background: end what it started, by pid
  for (const name of started) for (const p of processesOf(name)) process.kill(p.pid, 'SIGKILL');
  started.clear();
});

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** the highest training step a progress line of the output reports */
function stepReached(output: string): number {
  return Math.max(0, ...[...output.matchAll(/step (\d+)\/\d+ \(/g)].map((m) => Number(m[1])));
}

function checkpointSteps(runDir: string): number[] {
  const dir = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((n) => /^step-(\d+)$/.exec(n)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

async function runsOf(tracker: Tracker, experiment: string): Promise<Run[]> {
  const id = await tracker.getExperimentByName(experiment);
  return id === undefined ? [] : tracker.searchRuns([id]);
}

describe('signals and dead parents (real processes, real MLflow server)', () => {
  const uri = inject('mlflowUri');
  const STEPS = 60;
  let tracker: Tracker;
  beforeAll(() => {
    tracker = new MlflowRestTracker(uri);
  });
  afterAll(async () => {
    await tracker.close();
  });

  let drills = 0;
  const drill = (label: string, extra: Record<string, string> = {}) => {
    const name = `faults-${label}-${process.pid}-${drills++}`;
    started.add(name);
    const runsDir = path.join(tmp, 'runs');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MLFLOW_TRACKING_URI: uri,
      GANSTUDY_RUNS_DIR: runsDir,
      GANSTUDY_CACHE_DIR: path.join(tmp, 'cache'),
      TINY_NAME: name,
      TINY_STEPS: String(STEPS),
      TINY_CKPT: '10',
      TINY_METRICS: 'ms_ssim',
      ...extra,
    };
    /** the one trial's folder (the sweep has one trial unless TINY_LRS says otherwise) */
    const trialDir = (): string | undefined => {
      const root = path.join(runsDir, name);
      const [id] = fs.existsSync(root) ? fs.readdirSync(root) : [];
      return id === undefined ? undefined : path.join(root, id);
    };
    return { name, env, trialDir };
  };

  /** train/ curve steps of the sweep's one run: duplicates or gaps would show here */
  async function curveSteps(run: Run): Promise<number[]> {
    const key = Object.keys(run.metrics).find((k) => k.startsWith('train/'))!;
    return (await tracker.getMetricHistory(run.info.runId, key)).map((p) => p.step).sort((a, b) => a - b);
  }
  const evenSteps = (to: number): number[] => Array.from({ length: to / 2 }, (_, i) => 2 * (i + 1));

  for (const launcher of ['node --import tsx', 'npx tsx', 'npm run sweep --'] as const) {
    const title =
      `SIGTERM to \`${launcher} sweep\` mid-training: the sweep checkpoints the step reached and exits 130, ` +
      'nothing is left running; the re-run retrains nothing';
    it(title, async () => {
      const d = drill(launcher.split(' ')[0]);
      const cli = start(launcher, ['sweep', TINY], d.env);
      await waitFor('training past step 14', () => (stepReached(cli.output()) >= 14 ? true : undefined));
      const signalledAt = Date.now();
      process.kill(cli.child.pid!, 'SIGTERM');
      const r = await cli.done;
      const stopSec = (Date.now() - signalledAt) / 1000;
      if (launcher === 'npx tsx') {
        // npm exec runs `sh -c tsx …` and forwards the signal to that shell, which dies without passing it on; npx
        // then ends by the same signal. The sweep under the orphaned tsx sees its launcher chain break and stops.
        expect(r.signal, r.output).toBe('SIGTERM');
        expect(r.output).toMatch(/ganstudy sweep: launching process \d+ is gone: no new trials/);
      } else {
        expect(r.code, r.output).toBe(130);
        expect(r.output).toMatch(/ganstudy sweep: SIGTERM: no new trials/);
      }
      expect(r.output).toMatch(/\[trial 0\] SIGINT: checkpointing and stopping/);
      expect(r.output).toMatch(/\[trial 0\] interrupted at step \d+/);
      expect(r.output).toMatch(/interrupted \(run the same command again to resume\)/);
      expect(stopSec).toBeLessThan(30);
      // the checkpoint of the step the trial had reached, beside the periodic one before it
      const dir = d.trialDir()!;
      const kept = checkpointSteps(dir);
      const stoppedAt = kept[kept.length - 1];
      expect(stoppedAt).toBeGreaterThanOrEqual(14);
      expect(stoppedAt).toBeLessThan(STEPS);
      expect(stoppedAt).toBeGreaterThanOrEqual(stepReached(r.output));
      // nothing of this sweep is still running (exited children are not waited for here: poll briefly)
      await waitFor('no process of the drill', () => (processesOf(d.name).length === 0 ? true : undefined), 5_000);
      const [killed] = await runsOf(tracker, d.name);
      expect(killed.info.status).toBe('KILLED');

      const again = await start('node --import tsx', ['sweep', TINY], d.env).done;
      expect(again.code, again.output).toBe(0);
      expect(again.output).toContain(`resuming from checkpoint step ${stoppedAt}`);
      const runs = await runsOf(tracker, d.name);
      expect(runs).toHaveLength(1);
      expect(runs[0].info).toMatchObject({ runId: killed.info.runId, status: 'FINISHED' });
      expect(runs[0].tags['ganstudy.resumed_from_step']).toBe(String(stoppedAt));
      // steps retrained: the re-run's first progress step is the one right after the checkpoint
      const resumedSteps = [...again.output.matchAll(/step (\d+)\/\d+ \(/g)].map((m) => Number(m[1]));
      expect(Math.min(...resumedSteps)).toBe(stoppedAt + (stoppedAt % 2 === 0 ? 2 : 1));
      expect(await curveSteps(runs[0])).toEqual(evenSteps(STEPS));
      const exit = r.code ?? r.signal;
      console.log(
        `[drill] ${launcher}: SIGTERM → launcher exit ${exit}, sweep stopped after ${stopSec.toFixed(1)} s, ` +
          `checkpoint step ${stoppedAt}, retrained 0 steps`,
      );
    });
  }

  it('SIGKILL of the scheduler: its trial child checkpoints, records KILLED and exits within seconds', async () => {
    const d = drill('kill-scheduler');
    const cli = start('node --import tsx', ['sweep', TINY], d.env);
    await waitFor('training past step 14', () => (stepReached(cli.output()) >= 14 ? true : undefined));
    const trial = processesOf(d.name).find((p) => p.ppid === cli.child.pid && / trial /.test(p.cmd));
    expect(trial, JSON.stringify(processesOf(d.name))).toBeDefined();
    const killedAt = Date.now();
    process.kill(cli.child.pid!, 'SIGKILL');
    await waitFor('the trial child to exit', () => (processesOf(d.name).length === 0 ? true : undefined), 15_000);
    const goneSec = (Date.now() - killedAt) / 1000;
    expect(goneSec).toBeLessThan(10);
    const kept = checkpointSteps(d.trialDir()!);
    expect(kept[kept.length - 1]).toBeGreaterThanOrEqual(14);
    const [run] = await waitFor(
      'the run to be KILLED',
      async () => {
        const runs = await runsOf(tracker, d.name);
        return runs[0]?.info.status === 'KILLED' ? runs : undefined;
      },
      10_000,
    );
    expect(run.info.status).toBe('KILLED');
    const at = kept[kept.length - 1];
    console.log(`[drill] SIGKILL scheduler: trial child gone after ${goneSec.toFixed(1)} s, checkpoint step ${at}`);
  });

  it('SIGKILL of `npm run sweep`: the orphaned sweep and its trial stop within seconds', async () => {
    const d = drill('kill-npm');
    const cli = start('npm run sweep --', ['sweep', TINY], d.env);
    await waitFor('training past step 14', () => (stepReached(cli.output()) >= 14 ? true : undefined));
    expect(processesOf(d.name).length).toBeGreaterThanOrEqual(2);
    const killedAt = Date.now();
    process.kill(cli.child.pid!, 'SIGKILL');
    const none = (): true | undefined => (processesOf(d.name).length === 0 ? true : undefined);
    await waitFor('every process of the sweep to exit', none, 20_000);
    const goneSec = (Date.now() - killedAt) / 1000;
    expect(goneSec).toBeLessThan(15);
    const kept = checkpointSteps(d.trialDir()!);
    expect(kept[kept.length - 1]).toBeGreaterThanOrEqual(14);
    const runs = await waitFor(
      'the run to be KILLED',
      async () => {
        const rs = await runsOf(tracker, d.name);
        return rs[0]?.info.status === 'KILLED' ? rs : undefined;
      },
      10_000,
    );
    expect(runs).toHaveLength(1);
    const at = kept[kept.length - 1];
    console.log(`[drill] SIGKILL npm: sweep and trial gone after ${goneSec.toFixed(1)} s, checkpoint step ${at}`);
  });

  for (const kind of DAMAGES) {
    const title =
      `${kind} in the stopped trial's newest checkpoint: the re-run says so in one line, resumes from the older one, ` +
      'FINISHED';
    it(title, async () => {
      const d = drill(`damage-${kind.split(' ')[0]}`);
      const first = start('node --import tsx', ['trial', TINY, '--index', '0'], d.env);
      await waitFor('training past step 24', () => (stepReached(first.output()) >= 24 ? true : undefined));
      process.kill(first.child.pid!, 'SIGTERM');
      const stopped = await first.done;
      expect(stopped.code, stopped.output).toBe(130);
      const dir = d.trialDir()!;
      const [older, newest] = checkpointSteps(dir);
      expect(older).toBe(20);
      expect(newest).toBeGreaterThanOrEqual(24);
      damage(path.join(dir, 'checkpoints', `step-${newest}`), kind);

      const again = await start('node --import tsx', ['trial', TINY, '--index', '0'], d.env).done;
      expect(again.code, again.output).toBe(0);
      const lines = again.output.split('\n').filter((l) => l.includes('checkpoint invalid'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(path.join(dir, 'checkpoints', `step-${newest}`));
      expect(lines[0]).toMatch(DAMAGE_WORDS[kind]);
      expect(again.output).toContain(`resuming from checkpoint step ${older}`);
      const runs = await runsOf(tracker, d.name);
      expect(runs).toHaveLength(1);
      expect(runs[0].info.status).toBe('FINISHED');
      expect(runs[0].tags['ganstudy.resumed_from_step']).toBe(String(older));
      // lost to the damage: steps older+1 .. newest, trained twice. Nothing of the curve is missing; a step logged
      // twice can only be one of those retrained (the tracker's (key, step) dedup is meant to drop them all)
      const curve = await curveSteps(runs[0]);
      expect([...new Set(curve)]).toEqual(evenSteps(STEPS));
      const twice = curve.filter((st, i) => i > 0 && curve[i - 1] === st);
      for (const st of twice) expect(st > older && st <= newest, `step ${st} logged twice`).toBe(true);
      console.log(
        `[drill] ${kind}: fell back from step ${newest} to ${older}, retrained ${newest - older} steps, FINISHED; ` +
          `train/ points logged twice: ${twice.length === 0 ? 'none' : twice.join(', ')}`,
      );
    });
  }

  it('a signal while the tracker retries an unreachable server ends trial and sweep within seconds', async () => {
    // a server that passes the commands' start-up check, then answers every request 503: retried with backoff
    const server = http.createServer((req, res) => {
      const check = req.method === 'POST' && req.url === '/api/2.0/mlflow/experiments/search';
      res.writeHead(check ? 200 : 503, { 'Content-Type': 'application/json' }).end(check ? '{"experiments":[]}' : '{}');
    });
    const port = await new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const command of ['trial', 'sweep'] as const) {
      const d = drill(`unreachable-${command}`, { MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` });
      const args = command === 'trial' ? ['trial', TINY, '--index', '0'] : ['sweep', TINY];
      const cli = start('node --import tsx', args, d.env);
      // tsx catches SIGTERM from the start (SigCgt alone does not tell the CLI's handler is in place); the tracker's
      // one-line outage report comes after the CLI's handler, once the tracker is retrying (5 min by default)
      const retrying = (): true | undefined =>
        catchesSigterm(cli.child.pid!) && /retrying with backoff/.test(cli.output()) ? true : undefined;
      await waitFor('a SIGTERM handler and a retrying tracker', retrying, 60_000);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(cli.child.exitCode).toBeNull();
      const signalledAt = Date.now();
      process.kill(cli.child.pid!, 'SIGTERM');
      const r = await cli.done;
      const sec = (Date.now() - signalledAt) / 1000;
      expect(r.code, r.output).toBe(130);
      expect(r.output).toMatch(/SIGTERM: /);
      expect(sec).toBeLessThan(15);
      await waitFor('no process of the drill', () => (processesOf(d.name).length === 0 ? true : undefined), 5_000);
      console.log(`[drill] unreachable tracker, ${command}: SIGTERM → exit 130 after ${sec.toFixed(1)} s`);
    }
  });
});
