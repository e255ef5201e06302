/**
 * What a researcher sees in MLflow. A run is written the way a sweep writes it (src/tracking/run-record.ts, a
 * trial of the tiny sweep fixture) into the DEFAULT store of a fresh folder (no MLFLOW_TRACKING_URI: sqlite
 * mlflow.db + ./mlartifacts, through the local server ganstudy starts); then `mlflow ui` is started in that folder
 * with no store arguments, and MLflow's own Python client is asked, through it, for everything design.md and
 * run-record.ts promise: params, every metric family with its steps, tags, description, source, commit,
 * experiment kind, dataset inputs with their split contexts, and artifacts byte for byte.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandSweep, type Trial } from '../src/sweep/expand.js';
import { loadSweepFile } from '../src/sweep/load.js';
import {
  describeRun,
  EXPERIMENT_TAGS,
  gitCommit,
  METRIC_KEYS,
  openSweepExperiment,
  openTracker,
  runCreationTags,
  runDescription,
  runParams,
  TAGS,
} from '../src/tracking/index.js';
import type { MetricPoint } from '../src/tracking/types.js';
import { startMlflowServer, type MlflowServer } from '../src/tracking/mlflow-server.js';

const exec = promisify(execFile);
const PY = path.resolve('.venv/bin/python');
const folder = mkdtempSync(path.join(os.tmpdir(), 'ganstudy-ui-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

// a real 1×1 PNG, a config and a checkpoint file
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360f8cf000000030101005b1ae5a00000000049454e44ae426082',
  'hex',
);
const T0 = 1_700_000_000_000;
const loss = (s: number): number => 1 / (1 + s);

interface Seen {
  experiment_tags: Record<string, string>;
  runs: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  status: string;
  history: Record<string, [number, number][]>;
  artifacts: string[];
  checkpoint: string[];
  samples_b64: string;
  inputs: { name: string; digest: string; source_type: string; schema: string; context: string }[];
}

/** asks MLflow's Python client, through the server at `uri`, for what the run holds */
async function askMlflow(uri: string, experiment: string, runId: string): Promise<Seen> {
  const script = `
import base64, json, os, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(${JSON.stringify(uri)})
c = MlflowClient()
exp = c.get_experiment_by_name(${JSON.stringify(experiment)})
runs = mlflow.search_runs(experiment_ids=[exp.experiment_id], output_format="list")
r = c.get_run(${JSON.stringify(runId)})
hist = {k: sorted([m.step, m.value] for m in c.get_metric_history(r.info.run_id, k)) for k in r.data.metrics}
d = tempfile.mkdtemp()
png = mlflow.artifacts.download_artifacts(run_id=r.info.run_id, artifact_path="samples.png", dst_path=d)
inputs = [{"name": i.dataset.name, "digest": i.dataset.digest, "source_type": i.dataset.source_type,
           "schema": i.dataset.schema, "context": {t.key: t.value for t in i.tags}.get("mlflow.data.context")}
          for i in r.inputs.dataset_inputs]
print(json.dumps({
  "experiment_tags": exp.tags, "runs": len(runs), "params": r.data.params, "tags": r.data.tags,
  "status": r.info.status, "history": hist,
  "artifacts": sorted(a.path for a in c.list_artifacts(r.info.run_id)),
  "checkpoint": sorted(a.path for a in c.list_artifacts(r.info.run_id, "checkpoint")),
  "samples_b64": base64.b64encode(open(png, "rb").read()).decode(), "inputs": inputs}))
`;
  const env = { ...process.env, MLFLOW_TRACKING_URI: uri };
  const { stdout } = await exec(PY, ['-c', script], { maxBuffer: 64 << 20, env });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Seen;
}

describe('a sweep run as MLflow shows it (mlflow ui with no arguments in the folder)', () => {
  let trial: Trial;
  let runId = '';
  let localServer = '';
  let ui: MlflowServer | undefined;
  let seen: Seen;
  const curves: Record<string, MetricPoint[]> = {};

  beforeAll(async () => {
    process.env.TINY_NAME = `ui-${process.pid}`;
    const { spec, label } = await loadSweepFile('test/fixtures/sweeps/tiny.ts');
    delete process.env.TINY_NAME;
    trial = expandSweep(spec, { label })[0] as Trial;

    const saved = process.env.MLFLOW_TRACKING_URI;
    delete process.env.MLFLOW_TRACKING_URI;
    const tracker = await openTracker(undefined, { cwd: folder, journalDir: path.join(folder, '.journal') });
    if (saved !== undefined) process.env.MLFLOW_TRACKING_URI = saved;
    localServer = tracker.uri;
    try {
      const experimentId = await openSweepExperiment(tracker, trial.sweep, `ganstudy sweep ${label}`);
      const info = await tracker.createRun(experimentId, { runName: trial.runName, tags: runCreationTags(trial) });
      runId = info.runId;
      await tracker.logParams(runId, runParams(trial));
      await describeRun(tracker, runId, trial);
      await describeRun(tracker, runId, trial); // a resumed trial describes its run again: nothing doubles
      const steps = [2, 4, 6, 8, 10, 12];
      const at = (key: string, f: (s: number) => number, ss = steps): MetricPoint[] =>
        (curves[key] = ss.map((s) => ({ key, value: f(s), step: s, timestamp: T0 + s })));
      await tracker.logMetrics(runId, [
        ...at(METRIC_KEYS.train('loss_d'), loss),
        ...at(METRIC_KEYS.train('generator_updates'), (s) => s),
        ...at(METRIC_KEYS.val('ms_ssim'), (s) => 0.5 - s / 100, [6, 12]),
        ...at(METRIC_KEYS.test('ms_ssim'), () => 0.41, [12]),
        ...at(METRIC_KEYS.best('ms_ssim'), () => 0.38, [12]),
        ...at(METRIC_KEYS.real('ms_ssim'), () => 0.05, [0]),
      ]);
      const files = path.join(folder, 'files');
      mkdirSync(path.join(files, 'checkpoint'), { recursive: true });
      writeFileSync(path.join(files, 'samples.png'), PNG);
      writeFileSync(path.join(files, 'config.json'), JSON.stringify(trial));
      writeFileSync(path.join(files, 'checkpoint', 'weights.bin'), Buffer.alloc(1024, 7));
      await tracker.logArtifact(runId, path.join(files, 'samples.png'));
      await tracker.logArtifact(runId, path.join(files, 'config.json'));
      await tracker.logArtifact(runId, path.join(files, 'checkpoint'));
      await tracker.setRunStatus(runId, 'FINISHED', T0 + 60_000);
    } finally {
      await tracker.close();
    }
    ui = await startMlflowServer({ command: 'ui', cwd: folder });
    seen = await askMlflow(ui.uri, trial.sweep, runId);
  }, 300_000);

  afterAll(async () => ui?.stop());

  it('wrote the default store into the folder and stopped its own server', async () => {
    expect(existsSync(path.join(folder, 'mlflow.db'))).toBe(true);
    expect(existsSync(path.join(folder, 'mlartifacts'))).toBe(true);
    expect(existsSync(path.join(folder, 'mlruns'))).toBe(false);
    await expect(fetch(`${localServer}/health`)).rejects.toThrow();
  });

  it('shows the experiment as model training, with its one run FINISHED', () => {
    expect(seen.experiment_tags[EXPERIMENT_TAGS.kind]).toBe('custom_model_development');
    expect(seen.experiment_tags[EXPERIMENT_TAGS.note]).toMatch(/tiny\.ts/);
    expect(seen.runs).toBe(1);
    expect(seen.status).toBe('FINISHED');
  });

  it('holds every param as run-record.ts flattens it', () => {
    const want = Object.fromEntries(Object.entries(runParams(trial)).map(([k, v]) => [k, String(v)]));
    expect(seen.params).toEqual(want);
    expect(seen.params).toMatchObject({
      model: 'dcgan',
      dataset: 'synthetic',
      batch_size: '16',
      inception_samples: '100',
    });
  });

  it('holds the tags: identity, source, commit, description in words', () => {
    expect(seen.tags).toMatchObject({
      [TAGS.sweep]: trial.sweep,
      [TAGS.trialId]: trial.trialId,
      [TAGS.model]: 'dcgan',
      [TAGS.dataset]: 'synthetic',
      [TAGS.phase]: 'grid',
      [TAGS.sourceType]: 'LOCAL',
      [TAGS.note]: runDescription(trial),
    });
    expect(seen.tags[TAGS.gitCommit]).toBe(gitCommit());
    expect(seen.tags[TAGS.gitCommit]).toMatch(/^[0-9a-f]{40}$/);
    expect(seen.tags[TAGS.sourceName]).toContain(trial.sweep);
    expect(seen.tags[TAGS.note]).toMatch(
      /^dcgan on synthetic \(28×28×3\).*\n.*Setting:.*\n.*\nBudget: quick, 12 training steps/s,
    );
  });

  it('holds every metric family with its steps and values', () => {
    for (const [key, points] of Object.entries(curves)) {
      const got = seen.history[key];
      expect(got, key).toBeDefined();
      expect(got?.map(([s]) => s)).toEqual(points.map((p) => p.step));
      got?.forEach(([, v], i) => expect(v).toBeCloseTo(points[i]?.value as number, 12));
    }
    expect(Object.keys(seen.history).sort()).toEqual([
      'best_ms_ssim',
      'ms_ssim_real',
      'test/ms_ssim',
      'train/generator_updates',
      'train/loss_d',
      'val/ms_ssim',
    ]);
  });

  it('lists the dataset inputs: one per split, with its context and tensor schema, none doubled', () => {
    const contexts = seen.inputs.map((i) => i.context).sort();
    expect(contexts).toEqual(['test', 'training', 'validation']);
    for (const i of seen.inputs) {
      expect(i.name).toBe('synthetic');
      expect(i.digest).toMatch(/^[0-9a-f]{8}$/);
      expect(i.source_type).toBe('code');
      expect(JSON.parse(i.schema).mlflow_tensorspec.features).toContain('[-1, 28, 28, 3]'.replace(/ /g, ''));
    }
    expect(new Set(seen.inputs.map((i) => i.digest)).size).toBe(3);
  });

  it('serves the artifacts from ./mlartifacts byte for byte', () => {
    expect(seen.artifacts).toEqual(['checkpoint', 'config.json', 'samples.png']);
    expect(seen.checkpoint).toEqual(['checkpoint/weights.bin']);
    expect(Buffer.from(seen.samples_b64, 'base64').equals(PNG)).toBe(true);
    const onDisk = readFileSync(path.join(folder, 'files', 'config.json'), 'utf8');
    expect(JSON.parse(onDisk).trialId).toBe(trial.trialId);
  });

  it('serves the UI page itself', async () => {
    const html = await (await fetch(`${ui?.uri}/`)).text();
    expect(html).toMatch(/<title>MLflow<\/title>|mlflow/i);
  });
});
