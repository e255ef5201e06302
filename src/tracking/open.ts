/**
 * design.md's "Tracking URI" rule. `MLFLOW_TRACKING_URI` means what it means to MLflow's own client:
 *   http(s)://…                     an MLflow server (the user's), over REST
 *   sqlite:///…, postgresql://…     a backend store: a local `mlflow server` is started against it on a loopback
 *                                   port for as long as the tracker is open, artifacts in ./mlartifacts (beside a
 *                                   sqlite file)
 *   unset                           MLflow's default, sqlite:///mlflow.db in the working directory, ./mlartifacts
 *   file:… or a plain path          refused: MLflow's file store is deprecated (see FILE_STORE_REFUSAL)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MlflowRestTracker, type RestTrackerOptions } from './mlflow-rest.js';
import { experimentUiPath } from './run-record.js';
import { startMlflowServer, type MlflowServer } from './mlflow-server.js';
import { redactSecrets } from './redact.js';

export const DEFAULT_TRACKING_URI = 'sqlite:///mlflow.db';
/** the child processes of a sweep log to the sweep's server; this names the store behind it (for the journal) */
export const STORE_ENV = 'GANSTUDY_TRACKING_STORE';

const DatabaseScheme = z.enum(['sqlite', 'postgresql', 'postgres', 'mysql', 'mssql']);

export type TrackingTarget =
  | { kind: 'server'; uri: string }
  | { kind: 'database'; uri: string; artifactsDestination: string; sqliteFile?: string };

export function fileStoreRefusal(uri: string): string {
  return (
    `tracking URI ${JSON.stringify(uri)} is MLflow's file store, which MLflow 3 deprecates (maintenance mode; ` +
    `refused unless MLFLOW_ALLOW_FILE_STORE=true): use a database, e.g. MLFLOW_TRACKING_URI=sqlite:///mlflow.db ` +
    `(the default when unset), postgresql://…, or an MLflow server http(s)://… ` +
    `(migrate old runs with \`mlflow migrate-filestore\`)`
  );
}

/** Whether `target` is a sqlite store whose file does not exist yet (MLflow creates it on first use). */
export function sqliteFileMissing(target: TrackingTarget): boolean {
  return target.kind === 'database' && target.sqliteFile !== undefined && !existsSync(target.sqliteFile);
}

/** Where a tracking URI (or MLFLOW_TRACKING_URI, or the default) leads; relative sqlite paths become absolute. */
export function resolveTrackingUri(uri?: string, cwd: string = process.cwd()): TrackingTarget {
  const u = (uri ?? process.env.MLFLOW_TRACKING_URI ?? '').trim() || DEFAULT_TRACKING_URI;
  if (/^https?:\/\//i.test(u)) return { kind: 'server', uri: u.replace(/\/+$/, '') };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(u)?.[1]?.toLowerCase();
  // one-letter "schemes" are Windows drive letters: paths
  if (!scheme || scheme === 'file' || scheme.length === 1) throw new Error(fileStoreRefusal(u));
  const db = DatabaseScheme.safeParse(scheme.split('+')[0]);
  if (!db.success) {
    throw new Error(
      `tracking URI ${JSON.stringify(redactSecrets(u))}: ganstudy takes an MLflow server (http(s)://…) or a database ` +
        `(sqlite:///…, postgresql://…), not ${scheme}:`,
    );
  }
  if (db.data !== 'sqlite') return { kind: 'database', uri: u, artifactsDestination: path.resolve(cwd, 'mlartifacts') };
  const m = /^sqlite:\/\/\/(.+)$/i.exec(u);
  if (!m?.[1]) {
    const forms = 'sqlite:///relative.db or sqlite:////abs.db';
    throw new Error(`tracking URI ${JSON.stringify(u)}: a sqlite URI names a file, ${forms}`);
  }
  const file = path.resolve(cwd, m[1]);
  const artifactsDestination = path.join(path.dirname(file), 'mlartifacts');
  return { kind: 'database', uri: `sqlite:///${file}`, sqliteFile: file, artifactsDestination };
}

/** A tracker open on a store: `close()` also stops the local server when one was started for it. */
export interface OpenedTracker extends MlflowRestTracker {
  /** the store as the user named it (a database URI) or the server URI */
  readonly storeUri: string;
  /** the local server started for a database URI (its http URI is what child processes get) */
  readonly server: MlflowServer | undefined;
}

class LocalServerTracker extends MlflowRestTracker implements OpenedTracker {
  constructor(
    readonly server: MlflowServer,
    readonly storeUri: string,
    options: RestTrackerOptions,
  ) {
    super(server.uri, { journalKey: storeUri, ...options });
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.server.stop();
    }
  }
}

export interface OpenTrackerOptions extends RestTrackerOptions {
  /** a sqlite file that does not exist is an error instead of a new store (a report reads, it does not create) */
  mustExist?: boolean;
  /** where relative sqlite paths and the default store resolve (default: the working directory) */
  cwd?: string;
}

/**
 * Opens the tracking store: for a database URI (or none) this starts a local MLflow server, stopped by close()
 * (and when the process exits). Use `tracker.uri` (http) for child processes: they share this server.
 */
export async function openTracker(uri?: string, options: OpenTrackerOptions = {}): Promise<OpenedTracker> {
  const { mustExist, cwd, ...given } = options;
  // outages and their end are the user's business: one line each on stderr unless the caller listens itself
  const rest: RestTrackerOptions = { onStatus: (line) => void process.stderr.write(`${line}\n`), ...given };
  const target = resolveTrackingUri(uri, cwd);
  if (target.kind === 'server') {
    const storeUri = process.env[STORE_ENV] ?? target.uri;
    const tracker = new MlflowRestTracker(target.uri, { journalKey: storeUri, ...rest });
    return Object.assign(tracker, { storeUri, server: undefined });
  }
  if (mustExist && sqliteFileMissing(target)) {
    throw new Error(
      `tracking store ${target.uri} does not exist; run a sweep first or set MLFLOW_TRACKING_URI / --tracking-uri`,
    );
  }
  const { uri: backendStoreUri, artifactsDestination } = target;
  const server = await startMlflowServer({ backendStoreUri, artifactsDestination });
  try {
    return new LocalServerTracker(server, target.uri, rest);
  } catch (e) {
    // e.g. an unwritable journal folder: the server started for this tracker must not outlive the failure
    await server.stop();
    throw e;
  }
}

/** One line telling a researcher where to look at an experiment in MLflow's UI. */
export function whereToLook(tracker: { uri: string; storeUri?: string }, experimentId: string): string {
  const page = experimentUiPath(experimentId);
  if (tracker.storeUri === undefined || tracker.storeUri === tracker.uri) {
    return `MLflow UI: ${redactSecrets(tracker.uri)}${page}`;
  }
  const sqlite = /^sqlite:\/\/\/(.+)$/.exec(tracker.storeUri)?.[1];
  if (sqlite && path.basename(sqlite) === 'mlflow.db') {
    return `MLflow UI: run \`mlflow ui\` in ${path.dirname(sqlite)}, then open http://127.0.0.1:5000${page}`;
  }
  const store = redactSecrets(tracker.storeUri);
  return `MLflow UI: run \`mlflow ui --backend-store-uri ${store}\`, then open http://127.0.0.1:5000${page}`;
}
