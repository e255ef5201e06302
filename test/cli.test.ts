/**
 * The command line as a newcomer meets it, through the REAL CLI in a child process (`node --import tsx
 * src/cli/main.ts …`) against a real store (the test MLflow server, or a temp sqlite URI): every mistake ends with
 * one line on stderr, an exit code other than 0, no stack trace, and nothing created that should not be.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closestFlag, editDistance } from '../src/cli/args.js';
import { reportFailure, userMessage, UserError } from '../src/cli/errors.js';
import { trackerStatusLine } from '../src/cli/preflight.js';
import { MlflowRestTracker } from '../src/tracking/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const TINY = path.join(ROOT, 'test', 'fixtures', 'sweeps', 'tiny.ts');
const MISSING_DATA = path.join(ROOT, 'test', 'fixtures', 'sweeps', 'missing-data.ts');
const STACK_LINE = /^\s+at /m;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-cli-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** a fresh empty working directory: whatever a command creates there shows */
function freshCwd(name: string): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GANSTUDY_RUNS_DIR: path.join(scratch, 'runs'),
    GANSTUDY_CACHE_DIR: path.join(scratch, 'cache'),
    GANSTUDY_JOURNAL_DIR: path.join(scratch, 'journal'),
    TF_NUM_INTRAOP_THREADS: '1',
    ...opts.env,
  };
  delete env.GANSTUDY_VERBOSE;
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 })));
}

/** exit code, exactly one line on stderr matching `pattern`, and no stack trace anywhere */
function expectOneLine(r: CliResult, code: number, pattern: RegExp): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(r.code, r.stderr).toBe(code);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stdout + r.stderr).not.toMatch(STACK_LINE);
  return lines[0];
}

/** a loopback port with nothing listening */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function experimentExists(uri: string, name: string): Promise<boolean> {
  const res = await fetch(`${uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
  if (res.status === 404) return false;
  const body = (await res.json()) as { experiment?: { lifecycle_stage?: string }; error_code?: string };
  if (body.error_code === 'RESOURCE_DOES_NOT_EXIST') return false;
  return body.experiment !== undefined;
}

const unique = (what: string): string => `cli-${what}-${Date.now().toString(36)}-${process.pid}`;

describe('the tracking store is checked once, at the start, in seconds', () => {
  it('an unreachable server: sweep, sweep --dry-run, trial, plots fail with one line, create nothing', async () => {
    const port = await closedPort();
    const uri = `http://127.0.0.1:${port}`;
    const commands = [['sweep', TINY, '--dry-run'], ['sweep', TINY], ['trial', TINY, '--index', '0'], ['plots']];
    for (const args of commands) {
      const dir = freshCwd(`unreachable-${args[0]}-${args.length}`);
      const r = await runCli(args, { env: { MLFLOW_TRACKING_URI: uri }, cwd: dir });
      const line = expectOneLine(r, 1, new RegExp(`^ganstudy ${args[0]}: cannot reach the MLflow tracking server`));
      expect(line).toContain(uri);
      expect(line).toContain('experiments/search'); // what was tried
      expect(line).toMatch(/--tracking-uri or MLFLOW_TRACKING_URI/); // how to fix it
      expect(r.ms, args.join(' ')).toBeLessThan(30_000);
      expect(fs.readdirSync(dir), args.join(' ')).toEqual([]); // no mlflow.db, no runs/, no results/
    }
  }, 150_000);

  it('the port of the issue (9) and a password in the URI: the password is never printed', async () => {
    const plain = await runCli(['sweep', TINY, '--dry-run'], { env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' } });
    expectOneLine(plain, 1, /cannot reach the MLflow tracking server http:\/\/127\.0\.0\.1:9 /);
    const secret = await runCli(['plots', '--tracking-uri', 'http://ann:s3cret@127.0.0.1:9']);
    // the password is sent (Basic auth, as MLflow's client does) but never shown
    expectOneLine(secret, 1, /cannot reach the MLflow tracking server http:\/\/ann:\*\*\*@127\.0\.0\.1:9 /);
    expect(secret.stderr + secret.stdout).not.toContain('s3cret');
  }, 60_000);

  it('a URI with an unsupported scheme is refused the same way by every command that touches the store', async () => {
    const lines: string[] = [];
    for (const args of [['sweep', TINY], ['trial', TINY, '--index', '0'], ['plots']]) {
      const r = await runCli([...args, '--tracking-uri', 'ftp://x']);
      lines.push(expectOneLine(r, 2, /tracking URI "ftp:\/\/x": .* not ftp:/).replace(/^ganstudy \w+: /, ''));
    }
    expect(new Set(lines).size).toBe(1);
    const fileStore = await runCli(['plots', '--tracking-uri', './mlruns']);
    expectOneLine(fileStore, 2, /file store/);
    const sqlite = await runCli(['sweep', TINY, '--dry-run', '--tracking-uri', 'sqlite://']);
    expectOneLine(sqlite, 2, /a sqlite URI names a file/);
  }, 90_000);

  it('sweep --dry-run on the default store of a fresh folder lists every trial as NEW and creates no file', async () => {
    const dir = freshCwd('dry-fresh');
    const r = await runCli(['sweep', TINY, '--dry-run'], { cwd: dir, env: { MLFLOW_TRACKING_URI: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/tracking sqlite:\/\/\/.*mlflow\.db \(not created yet: every trial is NEW\)/);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+[0-9a-f]{16}\s/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((l) => /\sNEW\s/.test(l))).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  }, 120_000);

  it('an unwritable store or runs folder: one line naming it and the flag that moves it', async () => {
    const dir = freshCwd('unwritable');
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'not a folder');
    const store = await runCli(['sweep', TINY, '--tracking-uri', `sqlite:///${file}/mlflow.db`], { cwd: dir });
    expectOneLine(store, 1, /tracking store sqlite:\/\/\/.*a-file\/mlflow\.db: .*a-file is a file, not a folder/);
    const runs = await runCli(['sweep', TINY, '--runs-dir', path.join(file, 'runs')], {
      cwd: dir,
      env: { MLFLOW_TRACKING_URI: inject('mlflowUri') },
    });
    expectOneLine(runs, 1, /cannot write .*a-file\/runs: .* choose another folder with --runs-dir/);
    const journal = await runCli(['plots'], { cwd: dir, env: { GANSTUDY_JOURNAL_DIR: path.join(file, 'journal') } });
    expectOneLine(journal, 1, /cannot write .*a-file\/journal: .* choose another folder with GANSTUDY_JOURNAL_DIR/);
    expect(fs.readdirSync(dir)).toEqual(['a-file']);
  }, 60_000);

  it('plots on a sqlite store that does not exist says so and creates nothing', async () => {
    const dir = freshCwd('plots-missing');
    const r = await runCli(['plots'], { cwd: dir, env: { MLFLOW_TRACKING_URI: '' } });
    expectOneLine(r, 1, /tracking store sqlite:\/\/\/.*mlflow\.db does not exist; run a sweep first/);
    expect(fs.readdirSync(dir)).toEqual([]);
  }, 30_000);
});

describe('nothing half-written', () => {
  it('trial --index out of range: one line, and no MLflow experiment created', async () => {
    const uri = inject('mlflowUri');
    const name = unique('range');
    const r = await runCli(['trial', TINY, '--index', '999', '--tracking-uri', uri], { env: { TINY_NAME: name } });
    expectOneLine(r, 2, /--index 999: out of range; the grid phase has 1 trial\(s\) \(0\.\.0\)/);
    expect(await experimentExists(uri, name)).toBe(false);
  }, 30_000);

  it('a sweep over missing dataset folders fails up front, naming each folder and its field', async () => {
    const uri = inject('mlflowUri');
    const name = unique('nodata');
    const root = path.join(scratch, 'no-such-data');
    const r = await runCli(['sweep', MISSING_DATA, '--tracking-uri', uri], {
      env: { MISSING_DATA_DIR: root, MISSING_DATA_NAME: name },
    });
    const line = expectOneLine(r, 1, /dataset folder\(s\) missing/);
    expect(line).toContain(`${root}/cifar-10-batches-bin (set by dataDirs.cifar10)`);
    expect(line).toContain(`${root}/celeba (set by dataDirs.celeba)`);
    expect(await experimentExists(uri, name)).toBe(false);
    expect(fs.existsSync(path.join(scratch, 'runs', name))).toBe(false);
  }, 30_000);

  it('train: a dataset error leaves no folder, the fix runs, fewer --steps than done is refused', async () => {
    const out = path.join(scratch, 'train-run');
    const tiny = ['--model', 'dcgan', '--out', out, '--width', '0.125', '--batch-size', '8', '--z-dim', '8'];
    const bad = await runCli(['train', ...tiny, '--dataset', 'cifar10', '--data-dir', path.join(scratch, 'nope')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^ganstudy train: --dataset cifar10: CIFAR-10 directory .*nope does not exist/m);
    expect(bad.stderr).not.toMatch(STACK_LINE);
    expect(fs.existsSync(out)).toBe(false);

    const steps = ['--steps', '2', '--checkpoint-every', '2', '--sample-every', '0', '--log-every', '1'];
    const good = await runCli(['train', ...tiny, '--dataset', 'synthetic', ...steps]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toMatch(/step 2\/2 \(100%\)/);

    const fewer = await runCli(['train', ...tiny, '--dataset', 'synthetic', '--steps', '1']);
    expectOneLine(fewer, 2, /is already trained to step 2, past --steps 1: use --steps 2 or more/);
  }, 150_000);
});

describe('one argument style', () => {
  const commands = ['doctor', 'train', 'sweep', 'trial', 'evaluate', 'plots'];

  it('--help works on every command', async () => {
    for (const c of commands) {
      const r = await runCli([c, '--help']);
      expect(r.code, `${c}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: ganstudy ${c}`));
      expect(r.stdout).toMatch(/-h, --help/);
    }
  }, 90_000);

  it('an unknown flag is one line naming the closest valid flag, not the help', async () => {
    const typos: [string[], string][] = [
      [['doctor', '--verbos'], '--verbose'],
      [['train', '--model', 'dcgan', '--dataset', 'synthetic', '--stepz', '3'], '--steps'],
      [['sweep', TINY, '--paralel', '2'], '--parallel'],
      [['trial', TINY, '--trackin-uri', 'x'], '--tracking-uri'],
      [['evaluate', 'folder', '--metric', 'fid'], '--metrics'],
      [['plots', '--sweeps', 'x'], '--sweep'],
    ];
    for (const [args, near] of typos) {
      const r = await runCli(args);
      expectOneLine(r, 2, new RegExp(`^ganstudy ${args[0]}: unknown option --\\S+; did you mean ${near}\\?$`));
    }
    const cmd = await runCli(['swep']);
    expectOneLine(cmd, 2, /unknown command 'swep'; did you mean sweep\?/);
  }, 90_000);

  it('numbers: whole numbers say so, negative values are values', async () => {
    const steps = await runCli(['train', '--model', 'dcgan', '--dataset', 'synthetic', '--steps', '2.5']);
    expectOneLine(steps, 2, /--steps: expected a whole number, got "2\.5"/);
    const k = await runCli(['plots', '--k', 'abc']);
    expectOneLine(k, 2, /--k: expected a whole number, got "abc"/);
    const negative = await runCli(['plots', '--k', '-3']);
    expectOneLine(negative, 2, /--k: expected a whole number >= 1, got "-3"/);
    const seed = await runCli(['train', '--model', 'dcgan', '--dataset', 'synthetic', '--seed', '-1']);
    expectOneLine(seed, 2, /--seed: expected a whole number >= 0/);
    const index = await runCli(['trial', TINY, '--index', 'abc']);
    expectOneLine(index, 2, /--index: expected a whole number, got "abc"/);
    const parallel = await runCli(['sweep', TINY, '--parallel', '0']);
    expectOneLine(parallel, 2, /--parallel: expected a whole number >= 1, got "0"/);
  }, 90_000);

  it('evaluate checks --metrics and the other cheap options before it reads any data', async () => {
    const missing = path.join(scratch, 'no-images');
    const metrics = await runCli(['evaluate', missing, '--metrics', 'fid,sharpness']);
    expectOneLine(metrics, 2, /--metrics: unknown metric 'sharpness'/);
    const fid = await runCli(['evaluate', missing, '--metrics', 'fid']);
    expectOneLine(fid, 2, /fid compares with reference images: add --against/);
    const folder = await runCli(['evaluate', missing, '--metrics', 'ms_ssim']);
    expectOneLine(folder, 1, /image directory .*no-images does not exist/);
  }, 60_000);
});

describe('limits and quieter progress', () => {
  it('--parallel above the core count warns and says what it will do', async () => {
    const r = await runCli(['sweep', TINY, '--dry-run', '--parallel', '64', '--tracking-uri', inject('mlflowUri')], {
      env: { TINY_NAME: unique('parallel') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`--parallel 64 is more than the ${os.availableParallelism()} CPU core\\(s\\): up to 64 trials`),
    );
  }, 30_000);

  it('evaluate says when the folder mixes image sizes and what it resizes them to', async () => {
    const dir = path.join(scratch, 'mixed');
    fs.mkdirSync(dir, { recursive: true });
    const png = (w: number, h: number, v: number) =>
      sharp(Buffer.alloc(w * h * 3, v), { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toBuffer();
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, `a${i}.png`), await png(20, 20, 40 * i));
    fs.writeFileSync(path.join(dir, 'b.png'), await png(24, 16, 200));
    const args = ['--metrics', 'ms_ssim', '--size', '16', '--diversity-batches', '1', '--diversity-batch-size', '2'];
    const r = await runCli(['evaluate', dir, ...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the folder mixes 2 image sizes \(3 at 20×20, 1 at 24×16\): each is centre-cropped/);
    expect(r.stderr).toMatch(/resized to 16×16/);
  }, 90_000);

  it('a trial prints its step lines, and its JSON summary and tracker timings only with --verbose', async () => {
    const uri = inject('mlflowUri');
    const env = { TINY_NAME: unique('quiet'), TINY_STEPS: '2', TINY_CKPT: '2' };
    const quiet = await runCli(['trial', TINY, '--index', '0', '--tracking-uri', uri], { env });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toMatch(/step 2\/2 \(100%\)/);
    expect(quiet.stderr).not.toMatch(/tracker time by call/);
    expect(quiet.stdout.trim()).toBe('');
    const verbose = await runCli(['trial', TINY, '--index', '0', '--tracking-uri', uri, '--verbose'], { env });
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(JSON.parse(verbose.stdout.trim())).toMatchObject({ index: 0, status: 'skipped', previous: 'FINISHED' });
  }, 150_000);
});

describe('errors.ts and args.ts', () => {
  const capture = () => {
    let text = '';
    const write = (s: string): boolean => {
      text += s;
      return true;
    };
    return { stream: { write } as unknown as NodeJS.WritableStream, text: () => text };
  };

  it('a user error is one line; a bug prints its stack and says it is one', () => {
    const user = capture();
    expect(reportFailure('sweep', new UserError('bad thing; fix it', 2), false, user.stream)).toBe(2);
    expect(user.text()).toBe('ganstudy sweep: bad thing; fix it\n');
    const bug = capture();
    expect(reportFailure('sweep', new TypeError('x is undefined'), false, bug.stream)).toBe(1);
    expect(bug.text()).toMatch(/^ganstudy sweep: internal error \(a bug in ganstudy; please report it/);
    expect(bug.text()).toMatch(STACK_LINE);
  });

  it('a file-system refusal (EACCES on a lock file) is a user error naming the path', () => {
    const e = Object.assign(new Error("EACCES: permission denied, open '/store/x.lock'"), {
      code: 'EACCES',
      syscall: 'open',
      path: '/store/x.lock',
    });
    expect(userMessage(e)?.message).toBe(
      'cannot open /store/x.lock: permission denied (EACCES); choose another location or fix its permissions',
    );
  });

  it('a connection that drops: the first retry prints one line naming the knob that bounds the wait', async () => {
    const out = capture();
    const port = await closedPort();
    const tracker = new MlflowRestTracker(`http://127.0.0.1:${port}`, {
      journalDir: path.join(scratch, 'journal-retry'),
      requestMaxWaitMs: 1_500,
      onStatus: trackerStatusLine('[trial 0] ', out.stream),
    });
    await expect(tracker.getExperimentByName('x')).rejects.toThrow(/gave up after 2 s/);
    await tracker.close();
    const lines = out.text().trim().split('\n');
    expect(lines, out.text()).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[trial 0\] tracking: .* retrying with backoff.*GANSTUDY_TRACKING_MAX_WAIT_S/);
  });

  it('suggests by edit distance', () => {
    expect(editDistance('paralel', 'parallel')).toBe(1);
    expect(closestFlag('stepz', ['steps', 'seed', 'out'])).toBe('steps');
    expect(closestFlag('zzzzzz', ['steps', 'seed', 'out'])).toBeUndefined();
  });
});
