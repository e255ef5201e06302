/**
 * How a command fails. Mistakes the user can fix (a bad flag, a missing file, an unreachable tracking server, a
 * folder that cannot be written) are one line on stderr and exit 2 (usage) or 1 (environment); anything else is a
 * bug in ganstudy and prints its stack with a request to report it. `--verbose` (or GANSTUDY_VERBOSE=1) adds the
 * stack to user errors too.
 */
import { SweepSpecError } from '../sweep/define.js';

/** An error the user can fix: its message is the whole story, one line. */
export class UserError extends Error {
  constructor(
    message: string,
    /** 2: the command line or a sweep file; 1: the environment (store, folders, data) */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** what a failing file-system call means to a user, by errno */
const ERRNO_MEANING: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  ENOENT: 'no such file or folder',
  EEXIST: 'already exists',
};

/** names the class of errors the tracking module throws for a server it cannot use (without importing it) */
const TRACKING_ERRORS = new Set(['TrackingUnavailableError', 'MlflowApiError']);

/** The one line for a user error, or undefined for a bug. */
export function userMessage(e: unknown): { message: string; exitCode: number } | undefined {
  if (e instanceof UserError) return { message: e.message, exitCode: e.exitCode };
  if (e instanceof SweepSpecError) return { message: e.message, exitCode: 2 };
  if (!(e instanceof Error)) return undefined;
  if (TRACKING_ERRORS.has(e.constructor.name)) return { message: `tracking: ${firstLine(e.message)}`, exitCode: 1 };
  const err = e as NodeJS.ErrnoException;
  const meaning = err.code !== undefined ? ERRNO_MEANING[err.code] : undefined;
  if (meaning !== undefined && (err.path !== undefined || err.syscall !== undefined)) {
    const where = err.path !== undefined ? err.path : 'a file';
    const full = err.code === 'ENOSPC' || err.code === 'EDQUOT';
    const fix = full ? 'free some space' : 'choose another location or fix its permissions';
    return { message: `cannot ${err.syscall ?? 'use'} ${where}: ${meaning} (${err.code}); ${fix}`, exitCode: 1 };
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** --verbose anywhere on the command line, or GANSTUDY_VERBOSE=1 (how a sweep passes it to its trials) */
export function verboseRequested(argv: readonly string[]): boolean {
  return argv.includes('--verbose') || argv.includes('-v') || process.env.GANSTUDY_VERBOSE === '1';
}

/** Writes the failure of `ganstudy <command>` and returns the exit code. */
export function reportFailure(
  command: string,
  e: unknown,
  verbose: boolean,
  err: NodeJS.WritableStream = process.stderr,
): number {
  const user = userMessage(e);
  const prefix = command ? `ganstudy ${command}` : 'ganstudy';
  if (user !== undefined) {
    err.write(`${prefix}: ${user.message}\n`);
    if (verbose && e instanceof Error && e.stack) err.write(`${e.stack}\n`);
    return user.exitCode;
  }
  const trace = e instanceof Error ? (e.stack ?? e.message) : String(e);
  err.write(`${prefix}: internal error (a bug in ganstudy; please report it with the lines below)\n${trace}\n`);
  return 1;
}
