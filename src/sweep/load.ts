/**
 * Loads a sweep file: a TypeScript module whose default export is a `defineSweep({...})` object. tsx (or
 * vitest) transpiles it on import, so sweep files may compute their grids and read the environment.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseSweepSpec, SweepSpecError, type SweepSpec } from './define.js';

export interface LoadedSweep {
  spec: SweepSpec;
  /** absolute path of the sweep file */
  file: string;
  /** the path as messages show it (relative to the working directory) */
  label: string;
}

export async function loadSweepFile(file: string): Promise<LoadedSweep> {
  const abs = path.resolve(file);
  const label = path.relative(process.cwd(), abs) || file;
  if (!existsSync(abs)) {
    throw new SweepSpecError(
      `${label}: no such sweep file (sweep files live under sweeps/, e.g. sweeps/quickstart.ts)`,
    );
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (e) {
    throw new SweepSpecError(`${label}: could not load the sweep file: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (mod.default === undefined) {
    throw new SweepSpecError(`${label}: no default export (write \`export default defineSweep({ ... })\`)`);
  }
  return { spec: parseSweepSpec(mod.default, label), file: abs, label };
}
