import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { assertTrainingBackend, backendInfo, tf } from '../src/backend/index.js';

const exec = promisify(execFile);
const tsx = 'node_modules/.bin/tsx';

describe('backend', () => {
  it('loads native TensorFlow (not the pure-JS fallback)', () => {
    const info = backendInfo();
    expect(info.backend).toMatch(/^tensorflow/);
    expect(info.libtensorflowVersion).toMatch(/^2\.\d+\.\d+/);
    expect(tf.getBackend()).toBe('tensorflow');
    expect(() => assertTrainingBackend(false)).not.toThrow();
  });

  it('computes a conv2d gradient equal to the analytic one', () => {
    // d/dk sum(conv2d(x, k)) with a 1×1 kernel = sum of x over all positions, per (in, out) channel pair
    const x = tf.randomUniform([2, 5, 5, 3], 0, 1, 'float32', 7);
    const k = tf.randomNormal([1, 1, 3, 4], 0, 1, 'float32', 8);
    const g = tf.grad((kk: typeof k) => tf.conv2d(x as Tensor4D, kk as Tensor4D, 1, 'valid').sum())(k);
    const perChannel = x.sum([0, 1, 2]).arraySync() as number[];
    const got = g.arraySync() as number[][][][];
    for (let c = 0; c < 3; c++) for (let o = 0; o < 4; o++) expect(got[0][0][c][o]).toBeCloseTo(perChannel[c], 3);
  });

  it('`doctor` prints one JSON object naming the backend', async () => {
    const { stdout } = await exec(tsx, ['src/cli/main.ts', 'doctor']);
    const info = JSON.parse(stdout) as { backend: string; intraOpThreads: number; gpu: boolean };
    expect(info.backend).toBe('tensorflow');
    expect(info.intraOpThreads).toBeGreaterThan(0);
    expect(typeof info.gpu).toBe('boolean');
  });

  it('refuses to train on the pure-JS backend unless allowed', async () => {
    const { stdout, stderr } = await exec(tsx, ['test/fixtures/backend-refusal.ts'], {
      env: { ...process.env, GANSTUDY_BACKEND: 'cpu-js' },
    });
    expect(stdout).toContain('refused:Refusing to train on the pure-JavaScript');
    expect(stdout).toContain('backend=cpu-js');
    expect(stderr).toContain('WARNING: native TensorFlow could not be loaded');
  });
});
