import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openTracker } from './src/tracking/index.js';
import { generateReport } from './src/report/index.js';
const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-readme-'));
const t = await openTracker(`sqlite:///${dir}/mlflow.db`);
const exp = await t.getOrCreateExperiment('demo');
let n = 0;
for (const model of ['dcgan', 'alpha-gan']) for (let s = 0; s < 4; s++) for (let seed = 0; seed < 2; seed++, n++) {
  const r = await t.createRun(exp, { runName: `${model}/colormnist/s=${s},seed=${seed}`, tags: { 'ganstudy.sweep': 'demo', 'ganstudy.model': model, 'ganstudy.dataset': 'colormnist', 'ganstudy.trial_id': `t${n}`, 'ganstudy.classifier': 'colormnist-digits' } });
  await t.logParams(r.runId, { setting_id: `${model}-${s}`, steps: 300, train_for_unit: 'epochs', train_for_amount: 1, critic_steps: 100, data_variant: 'single' });
  const v = Math.sin(n) + 2;
  await t.logMetrics(r.runId, [
    { key: 'val/critic_w', value: v, step: 1, timestamp: Date.now() },
    { key: 'test/critic_w', value: v * 1.1, step: 1, timestamp: Date.now() },
    { key: 'val/ms_ssim', value: 0.1 + n / 100, step: 1, timestamp: Date.now() },
    { key: 'val/ms_ssim_real', value: 0.2, step: 1, timestamp: Date.now() },
    { key: 'test/ms_ssim', value: 0.1 + n / 90, step: 1, timestamp: Date.now() },
    { key: 'test/ms_ssim_real', value: 0.21, step: 1, timestamp: Date.now() },
    { key: 'val/fid', value: 1e-8 * (n + 1), step: 1, timestamp: Date.now() },
    { key: 'test/fid', value: 1.68269e-8 * (n + 1), step: 1, timestamp: Date.now() },
    { key: 'perf/trial_seconds', value: 42 + n, step: 1, timestamp: Date.now() },
  ]);
  await t.setRunStatus(r.runId, 'FINISHED');
}
await t.flush();
await generateReport({ tracker: t, sweeps: ['demo'], outDir: path.join(dir, 'results') });
await t.close();
console.log(path.join(dir, 'results'));
