/**
 * Screenshots of MLflow's UI as a researcher opens it on a ganstudy folder: starts `mlflow ui` in the folder with no
 * store arguments (sqlite:///mlflow.db, ./mlartifacts: what ganstudy writes by default), finds the experiment and
 * one run over REST, and has headless Chromium (Debian: `apt-get install -y chromium`) save PNGs of the experiment
 * page, the run page, and the run's artifacts tab.
 *
 *   npx tsx scripts/screenshot-mlflow-ui.ts [folder] [--experiment <name>] [--out <dir>]
 *
 * folder: default the working directory; --out: default results/ui.
 *
 * CHROMIUM (default: chromium on PATH) and GANSTUDY_MLFLOW override the binaries.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startMlflowServer } from '../src/tracking/mlflow-server.js';
import { ML_WORKFLOW } from '../src/tracking/run-record.js';

const Experiment = z.object({ experiment_id: z.string(), name: z.string() });
const Experiments = z.object({ experiments: z.array(Experiment).default([]) });
const Runs = z.object({
  runs: z
    .array(z.object({ info: z.object({ run_id: z.string(), run_name: z.string().default(''), status: z.string() }) }))
    .default([]),
});

async function post<T>(uri: string, endpoint: string, body: object, schema: z.ZodType<T>): Promise<T> {
  const res = await fetch(`${uri}/api/2.0/mlflow/${endpoint}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${endpoint}: HTTP ${res.status} ${await res.text()}`);
  return schema.parse(await res.json());
}

/** the named experiment, else the first one holding runs */
interface Picked {
  experimentId: string;
  name: string;
  runId: string;
  runName: string;
}

async function pickRun(uri: string, name?: string): Promise<Picked> {
  const { experiments } = await post(uri, 'experiments/search', { max_results: 1000 }, Experiments);
  for (const e of experiments.filter((x) => name === undefined || x.name === name)) {
    const { runs } = await post(uri, 'runs/search', { experiment_ids: [e.experiment_id], max_results: 50 }, Runs);
    const run = runs.find((r) => r.info.status === 'FINISHED') ?? runs[0];
    if (run) return { experimentId: e.experiment_id, name: e.name, runId: run.info.run_id, runName: run.info.run_name };
  }
  throw new Error(name ? `no experiment ${JSON.stringify(name)} with runs` : 'no experiment with runs in this folder');
}

function screenshot(url: string, file: string): void {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'ganstudy-chromium-'));
  try {
    const r = spawnSync(
      process.env.CHROMIUM ?? 'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--screenshot=${file}`,
        '--window-size=1600,1000',
        '--virtual-time-budget=15000',
        url,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (r.status !== 0) {
      throw new Error(`chromium exited ${r.status ?? r.signal}: ${r.error?.message ?? ''}${r.stderr.slice(-2000)}`);
    }
    process.stdout.write(`${file} (${statSync(file).size} bytes) ← ${url}\n`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { experiment: { type: 'string' }, out: { type: 'string', default: 'results/ui' } },
  });
  const folder = path.resolve(positionals[0] ?? '.');
  const out = path.resolve(values.out ?? 'results/ui');
  mkdirSync(out, { recursive: true });
  const ui = await startMlflowServer({ command: 'ui', cwd: folder });
  try {
    const pick = await pickRun(ui.uri, values.experiment);
    const what = `experiment ${pick.name} (${pick.experimentId}), run ${pick.runName}`;
    process.stdout.write(`mlflow ui in ${folder} at ${ui.uri}: ${what}\n`);
    // MLflow 3.17's UI picks its GenAI or model-training pages from the sidebar switch (kept in the browser's
    // localStorage, GenAI on a fresh profile) or the `workflowType` query parameter; a fresh headless profile is
    // what a first visit looks like, so both are taken
    const ml = `?workflowType=${ML_WORKFLOW}`;
    const experiment = `${ui.uri}/#/experiments/${pick.experimentId}`;
    const run = `${experiment}/runs/${pick.runId}`;
    screenshot(experiment, path.join(out, 'experiment-first-visit.png'));
    screenshot(`${experiment}${ml}`, path.join(out, 'experiment.png'));
    screenshot(`${run}${ml}`, path.join(out, 'run.png'));
    screenshot(`${run}/model-metrics${ml}`, path.join(out, 'run-metrics.png'));
    screenshot(`${run}/artifacts/samples.png${ml}`, path.join(out, 'run-artifacts.png'));
  } finally {
    await ui.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`screenshot-mlflow-ui: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
