/**
 * A sweep's datasets must be where the sweep says before any trial starts: otherwise every trial would create its
 * MLflow run and then fail on the same missing folder.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SweepSpec } from '../sweep/define.js';
import { UserError } from './errors.js';

/** Fails with one line naming every missing dataset folder and the sweep field that sets it. */
export async function checkSweepData(spec: SweepSpec, label: string): Promise<void> {
  const { expandSweep } = await import('../sweep/expand.js');
  const seen = new Map<string, string>();
  for (const t of expandSweep(spec, { label })) {
    const ds = t.datasetSpec as { name: string; dir?: string; mnistDir?: string };
    const dir = ds.dir ?? ds.mnistDir;
    if (dir === undefined || seen.has(ds.name)) continue;
    const abs = path.resolve(dir);
    const there = existsSync(abs) && statSync(abs).isDirectory();
    seen.set(ds.name, there ? '' : `${ds.name}: ${abs} (set by dataDirs.${ds.name})`);
  }
  const missing = [...seen.values()].filter((s) => s !== '');
  if (missing.length > 0) {
    throw new UserError(
      `${label}: dataset folder(s) missing: ${missing.join('; ')}; put the files there or point dataDirs ` +
        `(or data.<dataset>.dir) in the sweep file at them (see src/data/README.md); nothing was started`,
    );
  }
}
