/**
 * Checks a command makes before it does anything that takes time or leaves something behind: that the tracking
 * store can be used (one cheap REST call with a short timeout for a server; the folder of a sqlite file for the
 * default store) and that the folders it will write to can be written. Each failure is one UserError line naming
 * what was tried and how to fix it.
 *
 * Long retries are for a connection that drops once established (mlflow-rest.ts, bounded by
 * GANSTUDY_TRACKING_MAX_WAIT_S); a server that does not answer at the start is a configuration mistake.
 */
import { constants, existsSync, statSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from './errors.js';

/** seconds the start-up check waits for the tracking server (GANSTUDY_TRACKING_CHECK_S) */
function checkTimeoutMs(): number {
  const n = Number(process.env.GANSTUDY_TRACKING_CHECK_S ?? '');
  return Number.isFinite(n) && n > 0 ? n * 1000 : 5_000;
}

/** the environment knobs of the tracking connection, for the --help of every command that touches the store */
export const TRACKING_ENV_HELP = `environment:
  GANSTUDY_TRACKING_CHECK_S     seconds the start-up check waits for the tracking server (default 5)
  GANSTUDY_TRACKING_MAX_WAIT_S  seconds unsent tracker writes wait for a server that went away mid-run (default 1800)
`;

const HOW_TO_SET = 'set --tracking-uri or MLFLOW_TRACKING_URI (unset: sqlite:///mlflow.db in this folder)';

/** the tracking module, loaded lazily: it is only needed by commands that touch the store */
async function tracking(): Promise<typeof import('../tracking/index.js')> {
  return import('../tracking/index.js');
}

function causeOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === 'TimeoutError') return `no answer in ${checkTimeoutMs() / 1000} s`;
  const cause = e.cause instanceof Error ? e.cause : undefined;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code ? `${code}` : (cause?.message ?? e.message);
}

/** One REST call to an MLflow server; throws a UserError saying what failed and how to fix it. */
async function checkServer(uri: string, shown: string): Promise<void> {
  const tried = `POST ${shown}/api/2.0/mlflow/experiments/search`;
  let res: Response;
  try {
    // user info in the URI is sent as Basic auth, as the tracker (and MLflow's own client) does
    const { authHeaders, splitUserinfo } = await tracking();
    const { base, userinfo } = splitUserinfo(uri);
    res = await fetch(`${base}/api/2.0/mlflow/experiments/search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeaders(userinfo) },
      body: JSON.stringify({ max_results: 1 }),
      signal: AbortSignal.timeout(checkTimeoutMs()),
    });
  } catch (e) {
    throw new UserError(
      `cannot reach the MLflow tracking server ${shown} (${tried}: ${causeOf(e)}); ` +
        `start the server or fix the address: ${HOW_TO_SET}`,
    );
  }
  const body = await res.text().catch(() => '');
  if (res.status === 401 || res.status === 403) {
    throw new UserError(
      `the MLflow tracking server ${shown} refused the credentials (${tried}: HTTP ${res.status}); ` +
        'set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD',
    );
  }
  let json = false;
  try {
    json = typeof JSON.parse(body) === 'object';
  } catch {
    json = false;
  }
  if (!res.ok || !json) {
    throw new UserError(
      `${shown} does not answer like an MLflow tracking server (${tried}: HTTP ${res.status}); ` +
        `check the address (scheme, host, port, path): ${HOW_TO_SET}`,
    );
  }
}

/** The nearest existing folder at or above `p`. */
function nearestExisting(p: string): string {
  let dir = path.resolve(p);
  while (!existsSync(dir)) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

/**
 * `dir` can be created (if missing) and written, by what `flag` names; nothing is created here, so a command that
 * fails later leaves no empty folder behind.
 */
export async function checkWritableDir(dir: string, flag: string): Promise<void> {
  const target = path.resolve(dir);
  const existing = nearestExisting(target);
  let why: string | undefined;
  if (!statSync(existing).isDirectory()) why = `${existing} is a file, not a folder`;
  else {
    try {
      await access(existing, constants.W_OK | constants.X_OK);
    } catch (e) {
      why = `${existing} is not writable (${(e as NodeJS.ErrnoException).code ?? 'denied'})`;
    }
  }
  if (why !== undefined) throw new UserError(`cannot write ${target}: ${why}; choose another folder with ${flag}`);
}

/**
 * The store named by `uri` (else MLFLOW_TRACKING_URI, else the default) can be used: a bad scheme, an unreachable
 * server or an unwritable database folder fails here, in seconds, with one line.
 * `mustExist`: a command that only reads (plots) refuses a sqlite file that is not there rather than creating it.
 */
export async function checkTrackingStore(uri: string | undefined, opts: { mustExist?: boolean } = {}): Promise<void> {
  const { resolveTrackingUri, redactSecrets, sqliteFileMissing } = await tracking();
  let target: ReturnType<typeof resolveTrackingUri>;
  try {
    target = resolveTrackingUri(uri);
  } catch (e) {
    throw new UserError(`${(e as Error).message}; ${HOW_TO_SET}`, 2);
  }
  const shown = redactSecrets(target.uri);
  // unsent writes are journaled there before they are sent (the tracker's private, per-user folder)
  await checkWritableDir((await tracking()).journalRoot(), 'GANSTUDY_JOURNAL_DIR');
  if (target.kind === 'server') return checkServer(target.uri, shown);
  if (target.sqliteFile === undefined) return; // other databases: the local server's start says what is wrong
  if (!sqliteFileMissing(target)) {
    try {
      await access(target.sqliteFile, opts.mustExist ? constants.R_OK : constants.R_OK | constants.W_OK);
    } catch (e) {
      throw new UserError(
        `tracking store ${shown}: the file cannot be ${opts.mustExist ? 'read' : 'written'} ` +
          `(${(e as NodeJS.ErrnoException).code ?? 'denied'}); fix its permissions or ${HOW_TO_SET}`,
      );
    }
  } else if (opts.mustExist) {
    throw new UserError(`tracking store ${shown} does not exist; run a sweep first or ${HOW_TO_SET}`);
  }
  // MLflow writes the database's journal beside the file and the artifacts in ./mlartifacts next to it
  await checkWritableDir(path.dirname(target.sqliteFile), '--tracking-uri').catch((e: Error) => {
    throw new UserError(`tracking store ${shown}: ${e.message.replace(/^cannot write [^:]+: /, '')}`);
  });
}

/** The line a tracker prints when an established connection drops (its first retry) and when it is back. */
export function trackerStatusLine(
  prefix: string,
  err: NodeJS.WritableStream = process.stderr,
): (message: string) => void {
  return (message) => {
    const limit = 'GANSTUDY_TRACKING_MAX_WAIT_S';
    const extra = /retrying/.test(message) ? `; unsent writes wait up to ${limit} seconds (default 1800)` : '';
    err.write(`${prefix}${message}${extra}\n`);
  };
}
