/**
 * `npm run lint` enforces design.md's module boundaries with dependency-cruiser (.dependency-cruiser.cjs). These
 * drills plant a violating import in a probe file inside the tree, run the same checker on it, and expect it to fail
 * naming the rule; a probe that respects the boundaries must pass, so the rules are not simply failing everything.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const depcruise = path.resolve('node_modules/.bin/depcruise');

async function cruise(probe: string, source: string): Promise<{ code: number; out: string }> {
  await writeFile(probe, source);
  try {
    const r = await run(depcruise, [probe, '--config', '.dependency-cruiser.cjs'], { timeout: 60_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  } finally {
    await rm(probe, { force: true });
  }
}

describe('module boundaries (dependency-cruiser)', () => {
  const cases = [
    {
      rule: 'models-know-no-tracking-or-sweeps',
      probe: 'src/models/lint-probe-boundary.ts',
      bad: "import type { Tracker } from '../tracking/types.js';\nexport type T = Tracker;\n",
      good: "import type { ModelName } from './types.js';\nexport type T = ModelName;\n",
    },
    {
      rule: 'metrics-stand-alone',
      probe: 'metrics/lint-probe-boundary.ts',
      bad: "import { createModel } from '../src/models/index.js';\nexport const f = createModel;\n",
      good: "import { tf } from '../src/backend/index.js';\nexport const f = tf.tidy;\n",
    },
    {
      rule: 'train-emits-never-tracks',
      probe: 'src/train/lint-probe-boundary.ts',
      bad: "import { TAGS } from '../tracking/run-record.js';\nexport const t = TAGS;\n",
      good: "import { rowsPerStep } from './counters.js';\nexport const f = rowsPerStep;\n",
    },
  ];

  it.each(cases)('a planted import breaks $rule, and a clean one passes', async ({ rule, probe, bad, good }) => {
    const broken = await cruise(probe, bad);
    expect(broken.code, broken.out).not.toBe(0);
    expect(broken.out).toContain(rule);
    const clean = await cruise(probe, good);
    expect(clean.code, clean.out).toBe(0);
  });
});
