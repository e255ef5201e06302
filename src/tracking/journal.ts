/**
 * The REST tracker's on-disk journal: every queued write is appended (one JSON line) before the call that
 * queued it returns, and an `ack` line is appended once the server holds it. A process that dies with
 * writes still queued leaves its journal behind; the next tracker for the same store adopts the
 * unacknowledged writes of journals whose process is gone and sends them. One file per tracker instance,
 * emptied whenever its queue drains, removed on close.
 *
 * The journal is private to the user: it lives in `journalRoot()` (per user, not a shared /tmp folder), the folder
 * is mode 0700 and files 0600, and a file is replayed only when it is owned by this user, sits in a folder
 * nobody else can write to, and its header names the same store (by hash: a store URI with a password is never
 * written, only its redacted form). The disk copy is a backup of the in-memory queue, never the only copy: when
 * the folder disappears mid-run it is recreated and rewritten from the queue, and when the disk refuses writes
 * the queue still holds them until the server acknowledges them.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { redactSecrets } from './redact.js';

/** JSON has no NaN/Infinity: they travel as the strings protobuf's JSON mapping uses (MLflow accepts them) */
export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';
export const WireNumberSchema = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
export function toWire(v: number): WireNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}
export function fromWire(v: WireNumber): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;
}

export const QueuedOpSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('metric'),
    runId: z.string(),
    key: z.string(),
    value: WireNumberSchema,
    step: z.number(),
    timestamp: z.number(),
  }),
  z.object({ kind: z.literal('param'), runId: z.string(), key: z.string(), value: z.string() }),
  z.object({ kind: z.literal('tag'), runId: z.string(), key: z.string(), value: z.string() }),
  z.object({ kind: z.literal('deleteTag'), runId: z.string(), key: z.string() }),
  z.object({
    kind: z.literal('update'),
    runId: z.string(),
    status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']),
    endTime: z.number().optional(),
  }),
]);
export type QueuedOp = z.infer<typeof QueuedOpSchema>;
export interface Entry {
  seq: number;
  op: QueuedOp;
}

const HeaderSchema = z.object({
  /** sha256 of the store URI (credentials included, so two users' stores never match by accident) */
  store: z.string(),
  /** the store URI with its password replaced, for a human reading the file */
  shown: z.string(),
  pid: z.number(),
  uid: z.number(),
});
const LineSchema = z.union([
  z.object({ header: HeaderSchema }),
  z.object({ s: z.number(), o: QueuedOpSchema }),
  z.object({ a: z.number() }),
]);

function storeHash(uri: string): string {
  return createHash('sha256').update(uri).digest('hex');
}

const uid = (): number => (typeof process.getuid === 'function' ? process.getuid() : -1);

/**
 * The user's journal folder: GANSTUDY_JOURNAL_DIR, else $XDG_STATE_HOME/ganstudy/journal, else
 * ~/.local/state/ganstudy/journal (the XDG default for state that outlives a process).
 */
export function journalRoot(): string {
  const fromEnv = process.env.GANSTUDY_JOURNAL_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'ganstudy', 'journal');
}

/** creates the folder 0700; refuses one another user owns or others may write to (planted files could be replayed) */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (uid() >= 0 && st.uid !== uid()) {
    throw new Error(`tracking journal folder ${dir} belongs to another user (uid ${st.uid}): set GANSTUDY_JOURNAL_DIR`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Journal {
  readonly file: string;
  private readonly prefix: string;
  private empty = true;
  /** set once the disk refused a write: said once, then the queue alone holds the writes */
  private diskError: string | undefined;

  constructor(
    readonly dir: string,
    private readonly uri: string,
    private readonly warn: (message: string) => void = () => {},
  ) {
    privateDir(dir);
    this.prefix = `${storeHash(uri).slice(0, 12)}-`;
    this.file = path.join(dir, `${this.prefix}${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
  }

  private header(): string {
    const header = { store: storeHash(this.uri), shown: redactSecrets(this.uri), pid: process.pid, uid: uid() };
    return JSON.stringify({ header }) + '\n';
  }

  private entryLines(entries: Entry[]): string {
    return entries.map((e) => JSON.stringify({ s: e.seq, o: e.op })).join('\n') + '\n';
  }

  /**
   * Synchronous on purpose: the write is on disk before logMetrics returns (a few hundred bytes). `unacked` is the
   * whole queue including `entries`: if the file or its folder is gone, the journal is rebuilt from it.
   */
  append(entries: Entry[], unacked: () => Entry[]): void {
    if (entries.length === 0) return;
    this.write(() => {
      if (this.empty) writeFileSync(this.file, this.header(), { mode: 0o600 });
      this.empty = false;
      appendFileSync(this.file, this.entryLines(entries));
    }, unacked);
  }

  ackThrough(seq: number, unacked: () => Entry[]): void {
    if (this.empty) return;
    this.write(() => appendFileSync(this.file, JSON.stringify({ a: seq }) + '\n'), unacked);
  }

  private write(action: () => void, unacked: () => Entry[]): void {
    try {
      if (!this.diskError) {
        action();
        return;
      }
    } catch {
      // the folder was removed, or the disk is full or read-only: rebuild below
    }
    try {
      privateDir(this.dir);
      writeFileSync(this.file, this.header() + this.entryLines(unacked()), { mode: 0o600 });
      this.empty = false;
      if (this.diskError) this.warn(`tracking: journal ${this.file} is writable again`);
      this.diskError = undefined;
    } catch (e) {
      if (!this.diskError) {
        this.diskError = (e as Error).message;
        this.warn(
          `tracking: cannot write the journal ${this.file} (${this.diskError}); unsent writes are kept in memory ` +
            'until the server has them, but would be lost if this process died now',
        );
      }
    }
  }

  /** the queue is empty: nothing to recover from this file */
  clear(): void {
    if (!this.empty) rmSync(this.file, { force: true });
    this.empty = true;
  }

  /**
   * Unacknowledged writes left by dead processes that logged to the same store. The files are removed only
   * after the caller has queued the ops (`done`).
   */
  adoptOrphans(): { ops: QueuedOp[]; files: string[]; refused: string[]; done: () => void } {
    const ops: QueuedOp[] = [];
    const files: string[] = [];
    const refused: string[] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      names = [];
    }
    for (const name of names) {
      if (!name.startsWith(this.prefix) || !name.endsWith('.jsonl')) continue;
      const found = path.join(this.dir, name);
      if (found === this.file) continue;
      const pid = Number(name.slice(this.prefix.length).split('-')[0]);
      if (!Number.isInteger(pid) || alive(pid)) continue;
      const st = statSafe(found);
      if (!st || (uid() >= 0 && st.uid !== uid()) || !st.isFile()) {
        refused.push(`${found} (not a file of this user)`);
        continue;
      }
      // claim the file with an atomic rename: of several trackers starting at once, exactly one adopts it
      const file = `${this.file}.adopting-${name}`;
      let text: string;
      try {
        renameSync(found, file);
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const pending = this.parse(text);
      if (!pending) {
        refused.push(`${found} (no header for this store)`);
        rmSync(file, { force: true });
        continue;
      }
      ops.push(...pending);
      files.push(file);
    }
    return { ops, files, refused, done: () => files.forEach((f) => rmSync(f, { force: true })) };
  }

  /** the unacknowledged ops of a journal file, or undefined when its header is missing or names another store */
  private parse(text: string): QueuedOp[] | undefined {
    const pending = new Map<number, QueuedOp>();
    let acked = -1;
    let header: z.infer<typeof HeaderSchema> | undefined;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let parsed: ReturnType<typeof LineSchema.safeParse> | undefined;
      try {
        parsed = LineSchema.safeParse(JSON.parse(line));
      } catch {
        parsed = undefined;
      }
      // a torn last line (crash mid-append) is expected
      if (!parsed?.success) continue;
      const v = parsed.data;
      if ('header' in v) header = v.header;
      else if ('s' in v) pending.set(v.s, v.o);
      else acked = Math.max(acked, v.a);
    }
    if (!header || header.store !== storeHash(this.uri) || (uid() >= 0 && header.uid !== uid())) return undefined;
    return [...pending].sort((a, b) => a[0] - b[0]).flatMap(([seq, op]) => (seq > acked ? [op] : []));
  }
}

function statSafe(file: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}
