/**
 * Checkpoint folders of one run: `${runDir}/checkpoints/step-<n>/` holding the model's files (model.save),
 * `trainer-state.json`, and `checksums.json` (size and SHA-256 of every other file), which is written last.
 *
 * Writing: the folder is assembled under a temporary name, every file and the folder are fsynced, then it is
 * renamed into place and the parent folder is fsynced, so a crash or power loss leaves either the whole
 * checkpoint or nothing under a `step-<n>` name.
 *
 * Reading: a checkpoint is used only after its checksums verify, so damage done after it was written (a
 * zero-filled or truncated weights.bin, an edited trainer state) is found before model.load sees the bytes.
 * The loader reports an invalid checkpoint in one line naming the file and what is wrong, moves it aside
 * (`.invalid-step-<n>-<time>`, removed once a newer checkpoint supersedes it) and falls back to the one before;
 * with none valid it says so and the run starts from scratch. The checksums live beside the model's own files,
 * so the model's save/load format (src/models/common.ts) stays the model's business.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { GanModel } from '../models/types.js';

export const TRAINER_STATE_FILE = 'trainer-state.json';
export const CHECKSUMS_FILE = 'checksums.json';
const STEP_DIR = /^step-(\d+)$/;
const INVALID_DIR = /^\.invalid-step-(\d+)-/;

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

const ChecksumsSchema = z.object({
  format: z.literal('ganstudy-checksums-v1'),
  /** path relative to the checkpoint folder (POSIX separators) → what was written */
  files: z.record(
    z.string(),
    z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  ),
});
type Checksums = z.infer<typeof ChecksumsSchema>;

export interface CheckpointRef {
  step: number;
  dir: string;
}

/** Why a checkpoint cannot be used: the file at fault and what is wrong with it. */
export interface CheckpointProblem {
  file: string;
  problem: string;
}

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

/** Checkpoint folders that hold a trainer state (verified or not), oldest first. */
export async function listCheckpoints(runDir: string): Promise<CheckpointRef[]> {
  let names: string[];
  try {
    names = await readdir(checkpointsRoot(runDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const found: CheckpointRef[] = [];
  for (const name of names) {
    const m = STEP_DIR.exec(name);
    if (!m) continue;
    const dir = path.join(checkpointsRoot(runDir), name);
    if (await isFile(path.join(dir, TRAINER_STATE_FILE))) found.push({ step: Number(m[1]), dir });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** The newest checkpoint under `${runDir}/checkpoints/` whose files verify, or null when there is none. */
export async function latestCheckpoint(runDir: string): Promise<CheckpointRef | null> {
  const all = await listCheckpoints(runDir);
  for (const c of all.reverse()) if ((await verifyCheckpoint(c)) === null) return c;
  return null;
}

export async function readTrainerState(dir: string): Promise<TrainerState> {
  const file = path.join(dir, TRAINER_STATE_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(
      `cannot read trainer state ${file}: ${(e as Error).message}; delete that checkpoint folder to resume from the one before`,
    );
  }
  const parsed = TrainerStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid trainer state ${file}: ${issues}`);
  }
  return parsed.data;
}

// ---- checksums ---------------------------------------------------------------------------------------------

async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await filesUnder(dir, r)));
    else if (entry.isFile()) out.push(r);
  }
  return out.sort();
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function computeChecksums(dir: string): Promise<Checksums> {
  const files: Checksums['files'] = {};
  for (const rel of await filesUnder(dir)) {
    if (rel === CHECKSUMS_FILE) continue;
    const bytes = await readFile(path.join(dir, rel));
    files[rel] = { bytes: bytes.length, sha256: sha256(bytes) };
  }
  return { format: 'ganstudy-checksums-v1', files };
}

/** What is wrong with a file whose checksum differs, in words a person can act on. */
function describeDamage(bytes: Buffer, expected: { bytes: number }): string {
  if (bytes.length < expected.bytes) return `truncated: ${bytes.length} of ${expected.bytes} bytes`;
  if (bytes.length > expected.bytes) return `${bytes.length} bytes, ${expected.bytes} were written`;
  if (bytes.length > 0 && bytes.every((b) => b === 0)) return `all ${bytes.length} bytes are zero (SHA-256 mismatch)`;
  return 'contents changed since it was written (SHA-256 mismatch)';
}

async function readChecksums(dir: string): Promise<Checksums | CheckpointProblem> {
  const file = path.join(dir, CHECKSUMS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'missing (incomplete or pre-checksum checkpoint)' : `unreadable (${code})`;
    return { file, problem };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { file, problem: `not JSON (${(e as Error).message})` };
  }
  const parsed = ChecksumsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  return { file, problem: `not a checksum list (${parsed.error.issues[0]?.message ?? 'invalid'})` };
}

/**
 * Null when every file of the checkpoint is as it was written and its trainer state is for this folder's step;
 * otherwise the first file at fault and what is wrong with it.
 */
export async function verifyCheckpoint(ckpt: CheckpointRef): Promise<CheckpointProblem | null> {
  const sums = await readChecksums(ckpt.dir);
  if ('problem' in sums) return sums;
  if (!(TRAINER_STATE_FILE in sums.files)) {
    return { file: path.join(ckpt.dir, CHECKSUMS_FILE), problem: `does not cover ${TRAINER_STATE_FILE}` };
  }
  for (const [rel, expected] of Object.entries(sums.files)) {
    const file = path.join(ckpt.dir, ...rel.split('/'));
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      return { file, problem: missing ? 'missing' : `unreadable (${(e as Error).message})` };
    }
    if (bytes.length !== expected.bytes || sha256(bytes) !== expected.sha256) {
      return { file, problem: describeDamage(bytes, expected) };
    }
  }
  const stateFile = path.join(ckpt.dir, TRAINER_STATE_FILE);
  try {
    const state = await readTrainerState(ckpt.dir);
    if (state.step !== ckpt.step) {
      return { file: stateFile, problem: `holds step ${state.step}, the folder says ${ckpt.step}` };
    }
  } catch (e) {
    return { file: stateFile, problem: (e as Error).message };
  }
  return null;
}

// ---- loading -------------------------------------------------------------------------------------------------

/** Moves a checkpoint that failed verification out of the way, keeping it for inspection until superseded. */
async function quarantine(ckpt: CheckpointRef): Promise<string> {
  const to = path.join(path.dirname(ckpt.dir), `.invalid-step-${ckpt.step}-${Date.now()}`);
  await rename(ckpt.dir, to);
  return to;
}

/**
 * Restores `model` from the newest checkpoint that verifies and loads, newest first. Each invalid checkpoint is
 * reported through `warn` in one line (file, problem, what happens instead) and moved aside. `check` vets the
 * trainer state before the model is touched: what it throws (a checkpoint of another model or data stream) is a
 * usage error, not damage, and propagates. Null (after saying so, if any were found) means: start from scratch.
 */
export async function loadLatestCheckpoint(
  runDir: string,
  model: GanModel,
  opts: {
    warn: (line: string) => void;
    check: (state: TrainerState, ckpt: CheckpointRef) => void;
    skipLoad?: (state: TrainerState) => boolean;
  },
): Promise<(CheckpointRef & { state: TrainerState }) | null> {
  const candidates = (await listCheckpoints(runDir)).reverse();
  let partlyLoaded = false;
  for (let i = 0; i < candidates.length; i++) {
    const ckpt = candidates[i];
    let fault = await verifyCheckpoint(ckpt);
    let state: TrainerState | undefined;
    if (fault === null) {
      state = await readTrainerState(ckpt.dir);
      opts.check(state, ckpt);
      try {
        if (!opts.skipLoad?.(state)) await model.load(ckpt.dir);
      } catch (e) {
        partlyLoaded = true;
        fault = { file: ckpt.dir, problem: `model.load failed: ${(e as Error).message.split('\n')[0]}` };
      }
    }
    if (fault === null && state) return { ...ckpt, state };
    const moved = await quarantine(ckpt);
    const next = candidates[i + 1];
    const instead = next ? `trying step-${next.step}` : 'no older checkpoint: training starts from step 0';
    opts.warn(`checkpoint invalid: ${fault?.file}: ${fault?.problem}; moved to ${path.basename(moved)}; ${instead}`);
  }
  if (partlyLoaded) {
    // the model may hold part of a failed load: it is no longer the fresh initialisation a run from step 0 needs
    throw new Error(
      `no loadable checkpoint in ${checkpointsRoot(runDir)}: run again to train from step 0 with a fresh model`,
    );
  }
  return null;
}

// ---- writing -------------------------------------------------------------------------------------------------

async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes the checksum list last and makes the whole folder durable before it gets its final name. */
async function sealFolder(dir: string): Promise<void> {
  const sums = await computeChecksums(dir);
  await writeFile(path.join(dir, CHECKSUMS_FILE), JSON.stringify(sums, null, 1) + '\n');
  for (const rel of await filesUnder(dir)) await fsyncPath(path.join(dir, ...rel.split('/')));
  await fsyncPath(dir);
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
    await writeFile(path.join(tmpDir, TRAINER_STATE_FILE), JSON.stringify(state, null, 2) + '\n');
    await sealFolder(tmpDir);
    // rename() cannot replace a non-empty folder; an existing step-<n> holds the same step (a re-run), so it goes
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmpDir, finalDir);
    await fsyncPath(root);
  } catch (e) {
    await rm(tmpDir, { recursive: true, force: true });
    throw e;
  }
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old.dir, { recursive: true, force: true });
  for (const name of await readdir(root)) {
    // leftovers of a crash while a temporary folder was being written
    const staleTmp = name.startsWith('.tmp-step-') && !name.includes(`-${process.pid}-`);
    // invalid checkpoints kept for inspection, now superseded
    const invalidStep = INVALID_DIR.exec(name)?.[1];
    if (staleTmp || (invalidStep !== undefined && Number(invalidStep) <= state.step)) {
      await rm(path.join(root, name), { recursive: true, force: true });
    }
  }
  return finalDir;
}
