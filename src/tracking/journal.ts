/**
 * The REST tracker's on-disk journal: every queued write is appended (one JSON line) before the call that
 * queued it returns, and an `ack` line is appended once the server holds it. A process that dies with
 * writes still queued leaves its journal behind; the next tracker for the same server URI adopts the
 * unacknowledged writes of journals whose process is gone and sends them. One file per tracker instance,
 * emptied whenever its queue drains, removed on close.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

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
  z.object({ kind: z.literal('metric'), runId: z.string(), key: z.string(), value: WireNumberSchema, step: z.number(), timestamp: z.number() }),
  z.object({ kind: z.literal('param'), runId: z.string(), key: z.string(), value: z.string() }),
  z.object({ kind: z.literal('tag'), runId: z.string(), key: z.string(), value: z.string() }),
  z.object({ kind: z.literal('deleteTag'), runId: z.string(), key: z.string() }),
  z.object({ kind: z.literal('update'), runId: z.string(), status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']), endTime: z.number().optional() }),
]);
export type QueuedOp = z.infer<typeof QueuedOpSchema>;
export interface Entry {
  seq: number;
  op: QueuedOp;
}

const LineSchema = z.union([
  z.object({ header: z.object({ uri: z.string(), pid: z.number() }) }),
  z.object({ s: z.number(), o: QueuedOpSchema }),
  z.object({ a: z.number() }),
]);

function uriKey(uri: string): string {
  return createHash('sha256').update(uri).digest('hex').slice(0, 12);
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
  private empty = true;

  constructor(
    readonly dir: string,
    private readonly uri: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `${uriKey(uri)}-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
  }

  private ensureHeader(): void {
    if (this.empty) {
      writeFileSync(this.file, JSON.stringify({ header: { uri: this.uri, pid: process.pid } }) + '\n');
      this.empty = false;
    }
  }

  /** synchronous on purpose: the write is on disk before logMetrics returns (a few hundred bytes) */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    this.ensureHeader();
    appendFileSync(this.file, entries.map((e) => JSON.stringify({ s: e.seq, o: e.op })).join('\n') + '\n');
  }

  ackThrough(seq: number): void {
    if (this.empty) return;
    appendFileSync(this.file, JSON.stringify({ a: seq }) + '\n');
  }

  /** the queue is empty: nothing to recover from this file */
  clear(): void {
    if (!this.empty) rmSync(this.file, { force: true });
    this.empty = true;
  }

  /**
   * Unacknowledged writes left by dead processes that logged to the same URI. The files are removed only
   * after the caller has appended the ops to its own journal (`done`).
   */
  adoptOrphans(): { ops: QueuedOp[]; files: string[]; done: () => void } {
    const prefix = `${uriKey(this.uri)}-`;
    const ops: QueuedOp[] = [];
    const files: string[] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      names = [];
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.jsonl')) continue;
      const found = path.join(this.dir, name);
      if (found === this.file) continue;
      const pid = Number(name.slice(prefix.length).split('-')[0]);
      if (!Number.isInteger(pid) || alive(pid)) continue;
      // claim the file with an atomic rename: of several trackers starting at once, exactly one adopts it
      const file = `${this.file}.adopting-${name}`;
      let text: string;
      try {
        renameSync(found, file);
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      const pending = new Map<number, QueuedOp>();
      let acked = -1;
      let ok = true;
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let parsed;
        try {
          parsed = LineSchema.safeParse(JSON.parse(line));
        } catch {
          parsed = undefined;
        }
        // a torn last line (crash mid-append) is expected; anything else means a foreign file
        if (!parsed?.success) continue;
        const v = parsed.data;
        if ('header' in v) ok = v.header.uri === this.uri;
        else if ('s' in v) pending.set(v.s, v.o);
        else acked = Math.max(acked, v.a);
      }
      if (!ok) continue;
      for (const [seq, op] of [...pending].sort((a, b) => a[0] - b[0])) if (seq > acked) ops.push(op);
      files.push(file);
    }
    return { ops, files, done: () => files.forEach((f) => rmSync(f, { force: true })) };
  }
}
