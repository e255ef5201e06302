/**
 * Starts a real `mlflow server` on a free loopback port for the test run (no mocks of MLflow).
 * The binary is the project's venv one (`npm run setup` installs it), or GANSTUDY_MLFLOW.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface MlflowServer {
  uri: string;
  dir: string;
  stop(): Promise<void>;
  /** start again on the same port and store (for the server-outage drills) */
  restart(): Promise<void>;
  kill(): Promise<void>;
}

export function mlflowBinary(): string {
  const fromEnv = process.env.GANSTUDY_MLFLOW;
  if (fromEnv) return fromEnv;
  const venv = path.resolve('.venv/bin/mlflow');
  if (existsSync(venv)) return venv;
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

async function waitHealthy(uri: string, proc: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`mlflow server exited with ${proc.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${uri}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`mlflow server at ${uri} did not become healthy in ${timeoutMs} ms:\n${log()}`);
}

export async function startMlflowServer(): Promise<MlflowServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ganstudy-mlflow-'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  let output = '';
  const launch = async (): Promise<void> => {
    output = '';
    proc = spawn(
      mlflowBinary(),
      [
        'server',
        '--host', '127.0.0.1',
        '--port', String(port),
        '--workers', '1',
        '--backend-store-uri', `sqlite:///${path.join(dir, 'mlflow.db')}`,
        '--artifacts-destination', path.join(dir, 'artifacts'),
      ],
      // own process group: `mlflow server` forks uvicorn, and a kill must reach both or the port stays served
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' } },
    );
    proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    await waitHealthy(uri, proc, 90_000, () => output);
  };
  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (p.pid !== undefined) process.kill(-p.pid, sig);
      } catch {
        // group already gone
      }
    };
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      killGroup(signal);
      setTimeout(() => {
        if (p.exitCode === null) killGroup('SIGKILL');
      }, 10_000).unref();
    });
    // uvicorn may outlive the parent after a SIGTERM'd parent: make sure the group is gone
    killGroup('SIGKILL');
    // the server's worker processes hold the port for a moment after the parent exits
    for (let i = 0; i < 40; i++) {
      try {
        await fetch(`${uri}/health`);
        await new Promise((r) => setTimeout(r, 250));
      } catch {
        return;
      }
    }
  };
  await launch();
  return {
    uri,
    dir,
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    restart: launch,
  };
}
