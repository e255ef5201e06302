/**
 * A local `mlflow server` on a free loopback port, against a database backend store (sqlite or PostgreSQL), with
 * proxied artifacts in a local folder. ganstudy starts one for as long as a command runs when the tracking URI is a
 * database URI (or unset: `sqlite:///mlflow.db`); the test setup starts its own through the same function.
 *
 * Why these flags: `--workers 1` because sqlite has a single writer (parallel trials share this one server and its
 * one process serialises their writes); `--artifacts-destination` with the server's default artifact root
 * `mlflow-artifacts:/` records artifact locations that are relative to whichever server serves them, so
 * `mlflow ui` started later in the same folder with no arguments (sqlite:///mlflow.db, ./mlartifacts) finds them.
 *
 * Stopping: the server runs in its own process group (`mlflow server` forks uvicorn; a kill must reach both or the
 * port stays served). `stop()` ends the group; an exit hook ends it when the process exits normally; and a tiny
 * shell watchdog ends it when this process dies in a way no hook sees (SIGKILL, a default-action signal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactSecrets } from './redact.js';

export interface MlflowServer {
  /** http://127.0.0.1:<port> */
  uri: string;
  /** undefined: MLflow's defaults in `cwd` (sqlite:///mlflow.db, ./mlartifacts), as `mlflow ui` uses them */
  backendStoreUri: string | undefined;
  artifactsDestination: string | undefined;
  stop(): Promise<void>;
  /** SIGKILL the whole process group (for outage drills) */
  kill(): Promise<void>;
  /** start again on the same port and store (for outage drills) */
  restart(): Promise<void>;
}

export interface StartServerOptions {
  /** a database URI MLflow accepts: sqlite:///abs/path.db, postgresql://user:pass@host:port/db (default: MLflow's) */
  backendStoreUri?: string;
  /** folder the server writes artifacts to (default: MLflow's, ./mlartifacts in `cwd`) */
  artifactsDestination?: string;
  /** the server's working directory (default: this process's) */
  cwd?: string;
  /**
   * 'ui': `mlflow ui --host 127.0.0.1 --port <port>` and nothing else, as a user would start it in a folder to look
   * at its runs (store options are then ignored); default 'server', with the flags above
   */
  command?: 'server' | 'ui';
  /** default: a free loopback port */
  port?: number;
  /** how long to wait for /health (default 120 s: the first start migrates a new database) */
  startTimeoutMs?: number;
}

/** the checkout ganstudy runs from (src/tracking/ is two levels down), where scripts/setup.sh puts .venv */
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The mlflow executable: GANSTUDY_MLFLOW, else a .venv in the working directory, else the project's .venv
 * (scripts/setup.sh installs it; a sweep may run from any folder), else PATH.
 */
export function mlflowBinary(): string {
  const fromEnv = process.env.GANSTUDY_MLFLOW;
  if (fromEnv) return fromEnv;
  for (const root of [process.cwd(), PROJECT_ROOT]) {
    const venv = path.join(root, '.venv/bin/mlflow');
    if (existsSync(venv)) return venv;
  }
  return 'mlflow';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const DEFAULT_STORE = 'sqlite:///mlflow.db';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitHealthy(uri: string, proc: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`mlflow server exited (${proc.exitCode ?? proc.signalCode}):\n${log()}`);
    }
    try {
      if ((await fetch(`${uri}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`mlflow server at ${uri} did not become healthy in ${timeoutMs / 1000} s:\n${log()}`);
}

/** the store URI without its password, for messages */

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

/** ends the server's group if this process dies without running any hook (checks once a second) */
function spawnWatchdog(groupPid: number): void {
  const script =
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 -${groupPid} 2>/dev/null; do sleep 1; done; ` +
    `kill -TERM -${groupPid} 2>/dev/null; sleep 5; kill -KILL -${groupPid} 2>/dev/null; exit 0`;
  const dog = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  dog.unref();
}

/** the mlflow command line: `ui` as a user starts it, or `server` with the flags explained above */
function serverArgs(opts: StartServerOptions, port: number): string[] {
  const store = opts.backendStoreUri === undefined ? [] : ['--backend-store-uri', opts.backendStoreUri];
  const artifacts =
    opts.artifactsDestination === undefined ? [] : ['--artifacts-destination', opts.artifactsDestination];
  const where = ['--host', '127.0.0.1', '--port', String(port)];
  return opts.command === 'ui'
    ? ['ui', ...where]
    : ['server', ...where, '--workers', '1', ...store, '--default-artifact-root', 'mlflow-artifacts:/', ...artifacts];
}

/** mlflow in its own process group, its stdout and stderr handed to `keep` */
function spawnMlflow(args: string[], cwd: string | undefined, keep: (d: Buffer) => void): ChildProcess {
  const proc = spawn(mlflowBinary(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(cwd !== undefined ? { cwd } : {}),
    // the job runner of MLflow 3.x starts extra worker processes we never use
    env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
  });
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return proc;
}

/** rejects when the executable cannot be started at all (not installed, not executable) */
function spawnFailure(proc: ChildProcess): Promise<never> {
  const hint = 'run scripts/setup.sh or set GANSTUDY_MLFLOW';
  return new Promise<never>((_, reject) =>
    proc.once('error', (e) => reject(new Error(`cannot start ${mlflowBinary()}: ${e.message}; ${hint}`))),
  );
}

/** ends the server's group with `signal` (SIGKILL after 10 s), then waits until its port stops answering */
async function endGroup(p: ChildProcess | undefined, uri: string, signal: NodeJS.Signals): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return killGroup(p?.pid, 'SIGKILL');
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    killGroup(p.pid, signal);
    setTimeout(() => killGroup(p.pid, 'SIGKILL'), 10_000).unref();
  });
  // uvicorn may outlive its SIGTERM'd parent: make sure the group is gone
  killGroup(p.pid, 'SIGKILL');
  // the worker holds the port for a moment after the parent exits
  for (let i = 0; i < 40; i++) {
    try {
      await fetch(`${uri}/health`, { signal: AbortSignal.timeout(1000) });
      await sleep(250);
    } catch {
      return;
    }
  }
}

export async function startMlflowServer(opts: StartServerOptions): Promise<MlflowServer> {
  const port = opts.port ?? (await freePort());
  const uri = `http://127.0.0.1:${port}`;
  if (opts.artifactsDestination !== undefined) mkdirSync(opts.artifactsDestination, { recursive: true });
  const args = serverArgs(opts, port);
  let proc: ChildProcess | undefined;
  let output = '';
  const onExit = (): void => killGroup(proc?.pid, 'SIGTERM');
  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    process.off('exit', onExit);
    await endGroup(proc, uri, signal);
  };
  const launch = async (): Promise<void> => {
    output = '';
    proc = spawnMlflow(args, opts.cwd, (d) => void (output = (output + d.toString()).slice(-20_000)));
    const spawnError = spawnFailure(proc);
    process.on('exit', onExit);
    if (proc.pid !== undefined) spawnWatchdog(proc.pid);
    try {
      await Promise.race([waitHealthy(uri, proc, opts.startTimeoutMs ?? 120_000, () => output), spawnError]);
    } catch (e) {
      await terminate('SIGKILL');
      throw new Error(
        `tracking store ${redactSecrets(opts.backendStoreUri ?? DEFAULT_STORE)}: ${(e as Error).message}`,
      );
    }
  };
  await launch();
  return {
    uri,
    backendStoreUri: opts.backendStoreUri,
    artifactsDestination: opts.artifactsDestination,
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    restart: launch,
  };
}
