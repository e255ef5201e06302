/**
 * metrics/ on its own: importing it changes nothing global, and it imports no other part of ganstudy but the
 * TensorFlow entry (src/backend) and src/util.
 * - In a fresh process, TF.js's gradient registry for the comparison kernels is the same before and after
 *   `import('metrics/index.ts')`; the explicit registration adds them, and a second call adds nothing.
 * - Every relative import under metrics/ resolves inside metrics/, src/backend or src/util (static and dynamic).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

const PROBE = `
import { tf } from '${root}/src/backend/index.js';
const kernels = ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual'];
const has = () => kernels.map((k) => tf.getGradient(k) != null);
const before = has();
const m = await import('${root}/metrics/index.js');
const afterImport = has();
const added = m.registerComparisonGradients();
const again = m.registerComparisonGradients();
console.log(JSON.stringify({ before, afterImport, added, again, after: has() }));
`;

async function sourcesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourcesUnder(p)));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('metrics/ on its own', () => {
  it('importing metrics/index.ts registers no gradient; registerComparisonGradients does, once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-import-'));
    try {
      const file = path.join(dir, 'probe.mts');
      await writeFile(file, PROBE);
      const { stdout } = await exec(path.join(root, 'node_modules/.bin/tsx'), [file], { cwd: root });
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        before: boolean[];
        afterImport: boolean[];
        added: string[];
        again: string[];
        after: boolean[];
      };
      expect(r.afterImport).toEqual(r.before);
      // TF.js lacks at least Greater (the leaky ReLU gradient's mask), so the explicit call has work to do
      expect(r.before[0]).toBe(false);
      expect(r.added).toContain('Greater');
      expect(r.again).toEqual([]);
      expect(r.after.every(Boolean)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('imports only metrics/, src/backend and src/util of the project', async () => {
    const metricsDir = path.join(root, 'metrics');
    const allowed = [metricsDir, path.join(root, 'src/backend'), path.join(root, 'src/util')];
    const files = await sourcesUnder(metricsDir);
    expect(files.length).toBeGreaterThan(10);
    const bad: string[] = [];
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g)) {
        const target = path.resolve(path.dirname(f), m[1]!);
        if (!allowed.some((a) => target === a || target.startsWith(a + path.sep)))
          bad.push(`${path.relative(root, f)} → ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
