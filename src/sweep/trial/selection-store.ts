/**
 * What a trial's selection needs to survive a resume, in its folder beside checkpoints/:
 *   val-scores.json          every validation evaluation so far ({ step, scores }), so best_* and the selection
 *                            see the steps scored before a crash
 *   selected/checkpoint/     a copy of the checkpoint of the best validation step: the trainer keeps only its
 *                            newest checkpoints, and the test scores and samples.png come from this one
 *   selected/selected.json   { step, metric }, written last: its presence marks the copy complete
 * The copy is assembled in a temporary sibling and renamed into place, like the trainer's checkpoints, and takes
 * every file of the checkpoint folder (checksums included where the trainer writes them).
 */
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Evaluation } from './types.js';

const VAL_SCORES_FILE = 'val-scores.json';
const SELECTED_DIR = 'selected';
const SELECTED_FILE = 'selected.json';
const TMP_PREFIX = '.tmp-selected-';

const EvaluationsSchema = z.array(
  z.object({ step: z.number().int().nonnegative(), scores: z.record(z.string(), z.number()) }),
);
const SelectedSchema = z.object({ step: z.number().int().nonnegative(), metric: z.string() });

export interface SelectedCheckpoint {
  step: number;
  metric: string;
  /** the copied checkpoint folder (model files and trainer state) */
  dir: string;
}

async function readJson(file: string): Promise<unknown | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** The validation evaluations recorded in the trial's folder (none for a fresh trial). */
export async function readValScores(trialDir: string): Promise<Evaluation[]> {
  const file = path.join(trialDir, VAL_SCORES_FILE);
  const raw = await readJson(file);
  if (raw === undefined) return [];
  const parsed = EvaluationsSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid ${file}: ${parsed.error.issues[0]?.message}; delete it to re-score`);
  return parsed.data;
}

export async function writeValScores(trialDir: string, evaluations: readonly Evaluation[]): Promise<void> {
  const file = path.join(trialDir, VAL_SCORES_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  // JSON has no NaN: a non-finite score is left out, as the tracker leaves it out
  const finite = evaluations.map((e) => ({
    step: e.step,
    scores: Object.fromEntries(Object.entries(e.scores).filter(([, v]) => Number.isFinite(v))),
  }));
  await writeFile(tmp, JSON.stringify(finite, null, 2) + '\n');
  await rename(tmp, file);
}

/** The selected checkpoint, or null when none was selected yet (or its copy never completed). */
export async function readSelected(trialDir: string): Promise<SelectedCheckpoint | null> {
  const dir = path.join(trialDir, SELECTED_DIR);
  const raw = await readJson(path.join(dir, SELECTED_FILE));
  if (raw === undefined) return null;
  const parsed = SelectedSchema.safeParse(raw);
  if (!parsed.success) return null;
  return { ...parsed.data, dir: path.join(dir, 'checkpoint') };
}

/** Copies `checkpointDir` (the checkpoint of `step`) to selected/, replacing the previous selection. */
export async function saveSelected(
  trialDir: string,
  selection: { step: number; metric: string },
  checkpointDir: string,
): Promise<SelectedCheckpoint> {
  const finalDir = path.join(trialDir, SELECTED_DIR);
  // leftovers of a process that died while copying
  for (const name of await readdir(trialDir)) {
    if (name.startsWith(TMP_PREFIX)) await rm(path.join(trialDir, name), { recursive: true, force: true });
  }
  const tmp = path.join(trialDir, `${TMP_PREFIX}${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    await cp(checkpointDir, path.join(tmp, 'checkpoint'), { recursive: true });
    await writeFile(path.join(tmp, SELECTED_FILE), JSON.stringify(selection, null, 2) + '\n');
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmp, finalDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { ...selection, dir: path.join(finalDir, 'checkpoint') };
}
