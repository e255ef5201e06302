/**
 * Checkpoint folders of one run: `${runDir}/checkpoints/step-<n>/` holding the model's files (model.save)
 * and `trainer-state.json`, which is written last. A checkpoint is first assembled in a temporary sibling
 * folder and then renamed into place, so a crash mid-write leaves either the whole checkpoint or nothing
 * under a `step-<n>` name; `latestCheckpoint` also ignores any folder without its trainer state.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { GanModel } from '../models/types.js';

export const TRAINER_STATE_FILE = 'trainer-state.json';
const STEP_DIR = /^step-(\d+)$/;

/**
 * What the trainer needs besides the model's own state to continue exactly where it stopped. The model derives
 * all of step k's randomness from (its seed, k) and stores its step counter itself, so the trainer keeps no RNG
 * of its own: the data stream position (batch index, batch rows, stream seed) is the whole of its state.
 */
export const TrainerStateSchema = z.object({
  format: z.literal('ganstudy-trainer-v1'),
  /** completed training steps */
  step: z.number().int().nonnegative(),
  /** the index of the next batch of `data.batches(rowsPerStep, dataSeed, ·)` */
  nextBatch: z.number().int().nonnegative(),
  rowsPerStep: z.number().int().positive(),
  dataSeed: z.number().int(),
  model: z.string(),
  modelSeed: z.number().int(),
  /** the losses of the last step before the checkpoint */
  lastLosses: z.record(z.string(), z.number()),
  savedAt: z.string(),
});
export type TrainerState = z.infer<typeof TrainerStateSchema>;

export function checkpointsRoot(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

export function checkpointDir(runDir: string, step: number): string {
  return path.join(checkpointsRoot(runDir), `step-${step}`);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Complete checkpoints of a run, oldest first. */
export async function listCheckpoints(runDir: string): Promise<{ step: number; dir: string }[]> {
  let names: string[];
  try {
    names = await readdir(checkpointsRoot(runDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const found: { step: number; dir: string }[] = [];
  for (const name of names) {
    const m = STEP_DIR.exec(name);
    if (!m) continue;
    const dir = path.join(checkpointsRoot(runDir), name);
    if (await isFile(path.join(dir, TRAINER_STATE_FILE))) found.push({ step: Number(m[1]), dir });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint under `${runDir}/checkpoints/`, or null when there is none. */
export async function latestCheckpoint(runDir: string): Promise<{ step: number; dir: string } | null> {
  const all = await listCheckpoints(runDir);
  return all.length > 0 ? all[all.length - 1] : null;
}

export async function readTrainerState(dir: string): Promise<TrainerState> {
  const file = path.join(dir, TRAINER_STATE_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read trainer state ${file}: ${(e as Error).message}; delete that checkpoint folder to resume from the one before`);
  }
  const parsed = TrainerStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid trainer state ${file}: ${issues}`);
  }
  return parsed.data;
}

/**
 * Write the model and trainer state for `state.step` atomically, then keep only the newest `keep` checkpoints.
 * Returns the final folder.
 */
export async function writeCheckpoint(runDir: string, model: GanModel, state: TrainerState, keep = 2): Promise<string> {
  const root = checkpointsRoot(runDir);
  await mkdir(root, { recursive: true });
  const finalDir = checkpointDir(runDir, state.step);
  const tmpDir = path.join(root, `.tmp-step-${state.step}-${process.pid}-${Date.now()}`);
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  try {
    await model.save(tmpDir);
    // written last: its presence marks the folder complete
    await writeFile(path.join(tmpDir, TRAINER_STATE_FILE), JSON.stringify(state, null, 2) + '\n');
    // rename() cannot replace a non-empty folder; an existing step-<n> holds the same step (a re-run), so it goes
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmpDir, finalDir);
  } catch (e) {
    await rm(tmpDir, { recursive: true, force: true });
    throw e;
  }
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old.dir, { recursive: true, force: true });
  // leftovers of a crash while a temporary folder was being written
  for (const name of await readdir(root)) {
    if (name.startsWith('.tmp-step-') && !name.includes(`-${process.pid}-`)) await rm(path.join(root, name), { recursive: true, force: true });
  }
  return finalDir;
}
