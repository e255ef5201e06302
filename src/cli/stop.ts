/**
 * Stopping a long command cleanly, whoever asks: SIGINT/SIGTERM (a terminal, `docker stop`, a pod eviction, npm
 * forwarding its own signal), or the death of the process that launched us (`kill -9` of a sweep's scheduler or
 * of `npm run sweep`), which sends no signal at all.
 *
 * The first request aborts the command's AbortSignal: a training trial checkpoints at its next step boundary and
 * marks its run KILLED; a sweep stops starting trials and waits for its children. The stop is bounded: if the
 * process is still alive `graceMs` after the request (a step that never ends, a tracking server that does not
 * answer), it exits 130 anyway: checkpoints are written atomically and the REST tracker journals every write
 * before sending it, so what is cut short is resent or redone by the next run. Once the work that must not be
 * cut (the checkpoint) is done, `settled()` shortens the remaining wait to `settleMs`.
 */
import { readFileSync } from 'node:fs';

export const STOP_EXIT_CODE = 130;
/** below Kubernetes' default terminationGracePeriodSeconds (30), so a pod exits with our code, not SIGKILL's */
const DEFAULT_GRACE_MS = 25_000;
/** after the checkpoint: time for a reachable tracking server to record the run's status */
export const SETTLE_MS = 10_000;
const PARENT_POLL_MS = 500;

export interface StopControl {
  readonly signal: AbortSignal;
  /** the part of stopping that must not be cut short is done: exit within settleMs from now */
  settled(): void;
  /** off: a signal gets its default action (ends the process at once), e.g. while the event loop is blocked anyway */
  handleSignals(on: boolean): void;
  /** remove the handlers and timers (the command is returning normally) */
  dispose(): void;
}

export interface StopOptions {
  /** prefix of the one-line messages, e.g. `[trial 3]` or `ganstudy sweep:` */
  label: string;
  /** what the first request does, for the message ("checkpointing and stopping") */
  action: string;
  /** watch this parent pid (a scheduler's child); default: the npm launcher chain when run by npm, else none */
  parentPid?: number;
  err?: NodeJS.WritableStream;
  /** ms from the request to the forced exit (default GANSTUDY_STOP_GRACE_S, else 25 s) */
  graceMs?: number;
  /** false when nothing that must not be cut short is under way: the stop then waits only settleMs (default true) */
  busy?: () => boolean;
}

/** ms from a stop request to the forced exit of a trial: GANSTUDY_STOP_GRACE_S, else 25 s */
export function stopGraceMs(): number {
  const s = process.env.GANSTUDY_STOP_GRACE_S;
  const n = s === undefined || s === '' ? NaN : Number(s);
  return Number.isFinite(n) && n > 0 ? n * 1000 : DEFAULT_GRACE_MS;
}

/** The parent pid of `pid` from /proc (Linux), or undefined where /proc is not available. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function startedByNpm(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .some((kv) => kv.startsWith('npm_lifecycle_event='));
  } catch {
    return false;
  }
}

/**
 * The (child, parent) links from this process up to the npm (or npx) that launched it: `sh -c`, `tsx` and the like
 * in between carry npm's environment, npm itself does not. Any link breaking (a re-parented process) means the
 * launcher is gone. Only built when npm launched us, so `nohup ganstudy sweep … &` keeps running after its shell
 * exits.
 */
function launcherLinks(): { child: number; parent: number }[] {
  const links = [{ child: process.pid, parent: process.ppid }];
  let pid = process.ppid;
  while (pid > 1 && startedByNpm(pid) && links.length < 8) {
    const parent = parentOf(pid);
    if (parent === undefined || parent <= 1) break;
    links.push({ child: pid, parent });
    pid = parent;
  }
  return links;
}

/** Calls `onGone` (once) when the launcher dies; returns the function that stops watching. */
export function watchParent(onGone: (what: string) => void, parentPid?: number): () => void {
  let links: { child: number; parent: number }[];
  if (parentPid !== undefined) links = [{ child: process.pid, parent: parentPid }];
  else if (process.env.npm_lifecycle_event !== undefined) links = launcherLinks();
  else return () => undefined;
  const timer = setInterval(() => {
    for (const { child, parent } of links) {
      const now = child === process.pid ? process.ppid : parentOf(child);
      // a vanished intermediate (now undefined) broke the chain as surely as a re-parented one
      if (now !== parent) {
        clearInterval(timer);
        onGone(`launching process ${parent} is gone`);
        return;
      }
    }
  }, PARENT_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

let brokenPipesTolerated = false;
/**
 * Writes that fail because the reader died (EPIPE after the parent's death) must not crash a stopping process.
 * Installed unconditionally: a `pipe()` into stderr adds an error listener that removes itself and rethrows.
 */
function tolerateBrokenPipes(): void {
  if (brokenPipesTolerated) return;
  brokenPipesTolerated = true;
  for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
}

export function createStopControl(opts: StopOptions): StopControl {
  const controller = new AbortController();
  const err = opts.err ?? process.stderr;
  const graceMs = opts.graceMs ?? stopGraceMs();
  let firstAt = 0;
  let timer: NodeJS.Timeout | undefined;
  const exitIn = (ms: number, why: string): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      err.write(`${opts.label} ${why}: exiting now; unsent tracker writes stay in its journal, the next run resumes\n`);
      process.exit(STOP_EXIT_CODE);
    }, ms);
    timer.unref();
  };
  const request = (what: string): void => {
    const now = Date.now();
    if (firstAt === 0) {
      firstAt = now;
      tolerateBrokenPipes();
      err.write(`${opts.label} ${what}: ${opts.action} (bounded: ${Math.round(graceMs / 1000)} s)\n`);
      controller.abort();
      if (opts.busy?.() ?? true) exitIn(graceMs, `still running ${Math.round(graceMs / 1000)} s after ${what}`);
      else exitIn(Math.min(SETTLE_MS, graceMs), `still running ${Math.round(SETTLE_MS / 1000)} s after ${what}`);
    } else if (now - firstAt > 2_000) {
      // a parent and a terminal may both send the first signal; a later one means "now"
      process.exit(STOP_EXIT_CODE);
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => request(sig);
  const handleSignals = (on: boolean): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (on) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
  };
  handleSignals(true);
  // a child's output goes to its parent: once that dies, every write fails, and must not end the orderly stop
  if (opts.parentPid !== undefined) tolerateBrokenPipes();
  const unwatch = watchParent((what) => request(what), opts.parentPid);
  return {
    signal: controller.signal,
    settled: () => {
      if (firstAt === 0) return;
      exitIn(Math.min(SETTLE_MS, graceMs), `not done ${Math.round(SETTLE_MS / 1000)} s after the checkpoint`);
    },
    handleSignals,
    dispose: () => {
      handleSignals(false);
      unwatch();
      if (timer) clearTimeout(timer);
    },
  };
}
