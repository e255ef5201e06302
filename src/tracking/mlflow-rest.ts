/**
 * `MlflowRestTracker`: MLflow's REST API (2.0/mlflow/…) written for ganstudy.
 *
 * Writes (metrics, params, tags, tag deletions, status updates) go into an in-memory queue and an on-disk
 * journal (journal.ts) and return at once; a background loop sends them in order, metrics/params/tags as
 * `runs/log-batch` requests chunked within MLflow's limits (keys.ts LIMITS: 1000 metrics, 100 params,
 * 100 tags, 1000 entities, < 1 MB). Network errors, 5xx and 429 are retried with exponential backoff
 * (capped at 5 s) for as long as it takes; `flush()` waits for the queue to drain, up to `flushMaxWaitMs`
 * (default 30 min, env GANSTUDY_TRACKING_MAX_WAIT_S), so a server that is down for minutes loses nothing,
 * and a crashed process's journal is sent by the next tracker for the same URI.
 *
 * A (key, step) already logged for a run is dropped: runs created by this process start empty; for any
 * other run (a resumed trial) — and for a run whose batch failed in flight, when the server may or may not
 * have stored it — the run's metric history is read from the server before the next batch is sent and
 * points it already holds are dropped there. `resumeRun(runId)` does this eagerly.
 *
 * Reads (getRun, searchRuns, getMetricHistory, artifacts) first wait for the queue, so they see this
 * tracker's own writes. Artifacts go through the server's proxied artifact API
 * (`/api/2.0/mlflow-artifacts/artifacts/…`, a server run with --artifacts-destination / --serve-artifacts);
 * `file://` artifact roots are copied directly.
 *
 * Auth: MLFLOW_TRACKING_TOKEN (Bearer) or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD (Basic).
 * A non-retryable rejection of a queued write (e.g. changing a logged param) drops that write and is
 * thrown by the next flush().
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, stat, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SeenSteps } from './dedup.js';
import { redactSecrets } from './redact.js';
import { fromWire, Journal, journalRoot, toWire, WireNumberSchema, type Entry, type QueuedOp } from './journal.js';
import { checkKey, checkMetric, checkValue, LIMITS, paramString } from './keys.js';
import type { DatasetInput, MetricPoint, Run, RunInfo, RunStatus, Tracker } from './types.js';

// ---------- response schemas ----------

const Int = z.union([z.number(), z.string().regex(/^-?\d+$/)]).transform(Number);
const KeyValue = z.object({ key: z.string(), value: z.string().default('') });
const MetricSchema = z.object({
  key: z.string(),
  value: WireNumberSchema.default(0),
  timestamp: Int.default(0),
  step: Int.default(0),
});
const RunInfoSchema = z.object({
  run_id: z.string().optional(),
  run_uuid: z.string().optional(),
  run_name: z.string().optional(),
  experiment_id: z.string(),
  status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']).default('RUNNING'),
  start_time: Int.optional(),
  end_time: Int.optional(),
  artifact_uri: z.string().default(''),
  lifecycle_stage: z.string().optional(),
});
const RunSchema = z.object({
  info: RunInfoSchema,
  data: z
    .object({
      metrics: z.array(MetricSchema).default([]),
      params: z.array(KeyValue).default([]),
      tags: z.array(KeyValue).default([]),
    })
    .default({ metrics: [], params: [], tags: [] }),
});
const ExperimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  lifecycle_stage: z.string().optional(),
});
const Responses = {
  getExperiment: z.object({ experiment: ExperimentSchema }),
  createExperiment: z.object({ experiment_id: z.string() }),
  searchExperiments: z.object({
    experiments: z.array(ExperimentSchema).default([]),
    next_page_token: z.string().optional(),
  }),
  run: z.object({ run: RunSchema }),
  searchRuns: z.object({ runs: z.array(RunSchema).default([]), next_page_token: z.string().optional() }),
  history: z.object({ metrics: z.array(MetricSchema).default([]), next_page_token: z.string().optional() }),
  listArtifacts: z.object({
    files: z
      .array(z.object({ path: z.string(), is_dir: z.boolean().default(false), file_size: Int.optional() }))
      .default([]),
    next_page_token: z.string().optional(),
  }),
  empty: z.object({}).passthrough(),
  experimentTags: z.object({ experiment: z.object({ tags: z.array(KeyValue).default([]) }) }),
};
const ErrorBody = z.object({ error_code: z.string().optional(), message: z.string().optional() }).passthrough();

// ---------- errors ----------

/** the server could not be reached, or answered 5xx / 429: worth retrying */
export class TrackingUnavailableError extends Error {}

/** a request in flight when the command began to stop: not an outage */
class RequestCutError extends TrackingUnavailableError {}

/**
 * MLflow upserts (experiment tags, dataset inputs, run tags) without a lock: two processes writing the same row at
 * once make one fail on the unique key (sqlite IntegrityError, PostgreSQL duplicate key), and the same request
 * succeeds once the other row exists. Retried like an outage, but not reported as one.
 */
class StoreRaceError extends TrackingUnavailableError {}
const STORE_RACE = /IntegrityError|UNIQUE constraint failed|duplicate key value/;

/** the server answered and refused (4xx other than 429) */
export class MlflowApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
  ) {
    super(message);
  }
}

export interface RestTrackerOptions {
  /** folder for the write journal (default journalRoot(): $GANSTUDY_JOURNAL_DIR, else per user under XDG state) */
  journalDir?: string;
  /** which store the journal belongs to (default: the URI); a local server on a random port passes its database URI */
  journalKey?: string;
  /** how long flush() waits for an unreachable server before it throws (default 30 min) */
  flushMaxWaitMs?: number;
  /** how long a blocking call (createRun, searchRuns, artifacts…) retries an unreachable server (default 5 min) */
  requestMaxWaitMs?: number;
  /** per-request timeout (default 30 s) */
  requestTimeoutMs?: number;
  /** runs/search page size (default 1000, MLflow's default) */
  searchPageSize?: number;
  /** called with a line when the server is unreachable and when it is back (secrets redacted) */
  onStatus?: (message: string) => void;
  /**
   * the command is stopping: no more backoff sleeps (a write that fails is left in the journal, a blocking call
   * fails at once), and requests in flight when it aborts are cut
   */
  signal?: AbortSignal;
}

/** the tag a run is created with, so a create whose answer was lost can be found instead of repeated */
export const CREATE_TOKEN_TAG = 'ganstudy.create_token';
/** one attempt, no longer than this, per request made once the signal has aborted */
const STOPPING_TIMEOUT_MS = 5_000;
/** after an outage is reported, further ones within this time are summed up instead of reported one by one */
const FLAP_QUIET_MS = 30_000;

export interface BatchStats {
  requests: number;
  metrics: number;
  params: number;
  tags: number;
  /** wall ms per successful log-batch request */
  latenciesMs: number[];
  /** entities (metrics + params + tags) per request, in the order of latenciesMs */
  entities: number[];
}

const sleep = (ms: number, keepAlive = false): Promise<void> =>
  new Promise((r) => {
    const t = setTimeout(r, ms);
    if (!keepAlive) t.unref();
  });

function backoffMs(attempt: number): number {
  return Math.min(5_000, 200 * 2 ** Math.min(attempt, 10)) * (0.75 + Math.random() * 0.5);
}

/** MLflow's client rules for credentials, as HTTP headers (shared with the CLI's start-up check). */
export function authHeaders(userinfo?: string): Record<string, string> {
  const token = process.env.MLFLOW_TRACKING_TOKEN;
  if (token) return { Authorization: `Bearer ${token}` };
  const user = process.env.MLFLOW_TRACKING_USERNAME;
  const pass = process.env.MLFLOW_TRACKING_PASSWORD;
  if (user !== undefined && pass !== undefined)
    return { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
  // fetch refuses URLs with credentials: user info in the URI becomes Basic auth, as MLflow's client does
  if (userinfo) return { Authorization: `Basic ${Buffer.from(userinfo).toString('base64')}` };
  return {};
}

/** the URI without its user info (what requests go to) and the decoded user info */
/** The URI fetch can take (no user info) and the user info MLflow's client would send as Basic auth. */
export function splitUserinfo(uri: string): { base: string; userinfo?: string } {
  try {
    const u = new URL(uri);
    if (!u.username && !u.password) return { base: uri };
    const userinfo = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    u.username = '';
    u.password = '';
    return { base: u.toString().replace(/\/+$/, ''), userinfo };
  } catch {
    return { base: uri };
  }
}

/**
 * fetch, sent once more at once when the pooled keep-alive connection it went out on had been closed by the server
 * while idle (MLflow's uvicorn drops idle connections after a few seconds, so the first call after an evaluation
 * meets a dead socket): that is not an outage. A server that is really gone fails the second attempt too.
 */
async function fetchOnFreshSocketIfStale(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as Error).cause as { code?: string; message?: string } | undefined;
    const stale = cause?.code === 'UND_ERR_SOCKET' && cause.message === 'other side closed';
    if (!stale || init.signal?.aborted) throw e;
    return fetch(url, init);
  }
}

function errorCause(e: unknown): string {
  const err = e as Error;
  return redactSecrets(err.cause instanceof Error ? err.cause.message : err.message);
}

function envMaxWaitMs(): number | undefined {
  const s = process.env.GANSTUDY_TRACKING_MAX_WAIT_S;
  if (!s) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`GANSTUDY_TRACKING_MAX_WAIT_S must be a number of seconds, got ${JSON.stringify(s)}`);
  return n * 1000;
}

function toRun(r: z.infer<typeof RunSchema>): Run {
  const tags = Object.fromEntries(r.data.tags.map((t) => [t.key, t.value]));
  const info: RunInfo = {
    runId: r.info.run_id ?? r.info.run_uuid ?? '',
    experimentId: r.info.experiment_id,
    runName: r.info.run_name || tags['mlflow.runName'] || '',
    status: r.info.status,
    startTime: r.info.start_time ?? 0,
    ...(r.info.end_time !== undefined && r.info.end_time !== 0 ? { endTime: r.info.end_time } : {}),
    artifactUri: r.info.artifact_uri,
  };
  return {
    info,
    params: Object.fromEntries(r.data.params.map((p) => [p.key, p.value])),
    metrics: Object.fromEntries(r.data.metrics.map((m) => [m.key, fromWire(m.value)])),
    tags,
  };
}

type BatchOp = Extract<QueuedOp, { kind: 'metric' | 'param' | 'tag' }>;

/** the consecutive metric/param/tag writes of one run at the head of the queue, within MLflow's batch limits */
function collectBatch(queue: readonly Entry[], runId: string): { batch: BatchOp[]; metrics: number } {
  const batch: BatchOp[] = [];
  const paramKeys = new Set<string>();
  const tagKeys = new Set<string>();
  let metrics = 0;
  let bytes = 200;
  for (const entry of queue) {
    const o = entry.op;
    if ((o.kind !== 'metric' && o.kind !== 'param' && o.kind !== 'tag') || o.runId !== runId) break;
    const size = JSON.stringify(o).length;
    if (batch.length + 1 > LIMITS.entitiesPerBatch || bytes + size > LIMITS.batchBytes) break;
    if (o.kind === 'metric' && metrics + 1 > LIMITS.metricsPerBatch) break;
    // duplicate keys in one batch are refused (params) or ambiguous (tags): send them in the next one
    if (o.kind === 'param' && (paramKeys.size + 1 > LIMITS.paramsPerBatch || paramKeys.has(o.key))) break;
    if (o.kind === 'tag' && (tagKeys.size + 1 > LIMITS.tagsPerBatch || tagKeys.has(o.key))) break;
    if (o.kind === 'metric') metrics++;
    if (o.kind === 'param') paramKeys.add(o.key);
    if (o.kind === 'tag') tagKeys.add(o.key);
    batch.push(o);
    bytes += size;
  }
  return { batch, metrics };
}

export class MlflowRestTracker implements Tracker {
  readonly uri: string;
  /** the URI as messages show it: the password of its user info replaced */
  readonly shownUri: string;
  /** where requests go: the URI without user info (fetch refuses credentials in URLs) */
  private readonly base: string;
  private readonly userinfo: string | undefined;
  private readonly opts: Required<Omit<RestTrackerOptions, 'onStatus' | 'journalDir' | 'journalKey' | 'signal'>> &
    Pick<RestTrackerOptions, 'onStatus' | 'signal'>;
  private readonly journal: Journal;
  private queue: Entry[] = [];
  private nextSeq = 1;
  /** (key, step) logged or queued by this process, per run */
  private readonly seen = new SeenSteps();
  /**
   * (key, step) the server holds, per run, read from its whole history (every key, every page) when a run is
   * resumed or a batch failed in flight; kept for the tracker's life, every later batch of the run is filtered by it
   */
  private readonly serverHeld = new SeenSteps();
  /** runs whose server-side history must be (re)read before their next metrics are sent */
  private readonly verify = new Set<string>();
  private readonly artifactUris = new Map<string, string>();
  private draining: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly errors: Error[] = [];
  /** when the current outage began (undefined: the server answers) */
  private downSince: number | undefined;
  /** writes sent again because the answer to an earlier attempt was lost, during the current outage */
  private resent = 0;
  private failedInFlight = false;
  /** outages until this time are counted, not reported one by one (a flaky link) */
  private quietUntil = 0;
  private quietOutage = false;
  private blips = 0;
  private closed = false;
  readonly stats: BatchStats = { requests: 0, metrics: 0, params: 0, tags: 0, latenciesMs: [], entities: [] };

  constructor(uri: string, options: RestTrackerOptions = {}) {
    this.uri = uri.replace(/\/+$/, '');
    this.shownUri = redactSecrets(this.uri);
    ({ base: this.base, userinfo: this.userinfo } = splitUserinfo(this.uri));
    this.opts = {
      flushMaxWaitMs: options.flushMaxWaitMs ?? envMaxWaitMs() ?? 30 * 60_000,
      requestMaxWaitMs: options.requestMaxWaitMs ?? 5 * 60_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      searchPageSize: options.searchPageSize ?? 1000,
      onStatus: options.onStatus,
      signal: options.signal,
    };
    const say = (m: string): void => this.opts.onStatus?.(redactSecrets(m));
    this.journal = new Journal(options.journalDir ?? journalRoot(), options.journalKey ?? this.uri, say);
    const orphans = this.journal.adoptOrphans();
    for (const r of orphans.refused) say(`tracking: not replaying ${r}`);
    if (orphans.ops.length > 0) {
      // the dead process may have sent some of them before it died: compare with the server first
      for (const op of orphans.ops) if (op.kind === 'metric') this.verify.add(op.runId);
      this.enqueue(orphans.ops);
      const files = orphans.files.length;
      say(`tracking: resending ${orphans.ops.length} writes journaled by an earlier process (${files} file(s))`);
    }
    orphans.done();
  }

  /** where the journal of unsent writes lives */
  get journalFile(): string {
    return this.journal.file;
  }

  get pending(): number {
    return this.queue.length;
  }

  private get stopping(): boolean {
    return this.opts.signal?.aborted ?? false;
  }

  private status(message: string): void {
    this.opts.onStatus?.(redactSecrets(message));
  }

  // ---------- HTTP ----------

  private auth(): Record<string, string> {
    return authHeaders(this.userinfo);
  }

  /** the request's abort signal: its timeout, and the stop signal while the command is not yet stopping */
  private requestSignal(timeoutMs = this.opts.requestTimeoutMs): AbortSignal {
    const { signal } = this.opts;
    if (!signal) return AbortSignal.timeout(timeoutMs);
    if (signal.aborted) return AbortSignal.timeout(Math.min(timeoutMs, STOPPING_TIMEOUT_MS));
    return AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]);
  }

  private async once<T>(
    method: 'GET' | 'POST',
    endpoint: string,
    schema: z.ZodType<T>,
    args: Record<string, unknown> = {},
  ): Promise<T> {
    let url = `${this.base}/api/2.0/mlflow/${endpoint}`;
    const init: RequestInit = { method, headers: { ...this.auth() }, signal: this.requestSignal() };
    if (method === 'GET') {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(args)) if (v !== undefined) q.set(k, String(v));
      const qs = q.toString();
      if (qs) url += `?${qs}`;
    } else {
      init.body = JSON.stringify(args);
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    }
    const what = `${method} ${endpoint}`;
    const text = await this.fetchText(url, init, what);
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      // a JSON answer cut off mid-body (a proxy or the server died while sending) is an outage, not an answer
      const cut = `${what}: the answer from ${this.shownUri} was cut off`;
      if (/^\s*[[{]/.test(text)) throw new TrackingUnavailableError(cut);
      throw new Error(`${what}: the answer is not JSON (is ${this.shownUri} an MLflow server?): ${text.slice(0, 200)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      if (text === '') throw new TrackingUnavailableError(`${what}: empty answer from ${this.shownUri}`);
      throw new Error(`${what}: unexpected answer from ${this.shownUri}: ${text.slice(0, 300)}`);
    }
    return parsed.data;
  }

  private async fetchText(url: string, init: RequestInit, what: string): Promise<string> {
    let res: Response;
    try {
      res = await fetchOnFreshSocketIfStale(url, init);
    } catch (e) {
      const aborted = (e as Error).name === 'AbortError';
      if (this.stopping && aborted) throw new RequestCutError(`${what}: cut short by the stop`);
      throw new TrackingUnavailableError(`${what}: ${this.shownUri} is unreachable (${errorCause(e)})`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new TrackingUnavailableError(`${what}: the answer from ${this.shownUri} was cut off (${errorCause(e)})`);
    }
    if (res.status >= 500 || res.status === 429) {
      throw new TrackingUnavailableError(`${what}: HTTP ${res.status} from ${this.shownUri}: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      let code: string | undefined;
      let message = text.slice(0, 500);
      try {
        const b = ErrorBody.parse(JSON.parse(text));
        code = b.error_code;
        message = b.message ?? message;
      } catch {
        // not MLflow's JSON error body
      }
      if (res.status === 400 && code !== 'RESOURCE_ALREADY_EXISTS' && STORE_RACE.test(message)) {
        throw new StoreRaceError(`${what}: a concurrent write of the same row`);
      }
      const hint =
        res.status === 401 || res.status === 403
          ? ' (set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD)'
          : '';
      throw new MlflowApiError(
        redactSecrets(`${what}: HTTP ${res.status}${code ? ` ${code}` : ''}: ${message}${hint}`),
        res.status,
        code,
      );
    }
    return text;
  }

  /** retries unavailability with backoff for up to maxWaitMs; once the command is stopping, one attempt */
  private async retrying<T>(
    fn: () => Promise<T>,
    maxWaitMs = this.opts.requestMaxWaitMs,
    /** before each retry: the result of the lost attempt, if it can be found (an idempotent create) */
    beforeRetry?: () => Promise<T | undefined>,
  ): Promise<T> {
    const deadline = Date.now() + maxWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const again = attempt > 0 && beforeRetry ? await beforeRetry() : undefined;
        const out = again !== undefined ? again : await fn();
        this.markUp();
        return out;
      } catch (e) {
        if (!(e instanceof TrackingUnavailableError)) throw e;
        this.markDown(e);
        if (this.stopping) throw new TrackingUnavailableError(`${e.message}; not retrying: stopping`);
        const wait = backoffMs(attempt);
        if (Date.now() + wait > deadline)
          throw new TrackingUnavailableError(`${e.message}; gave up after ${Math.round(maxWaitMs / 1000)} s`);
        await this.backoff(wait, true);
      }
    }
  }

  /** a backoff sleep that the stop signal cuts short */
  private backoff(ms: number, keepAlive: boolean): Promise<void> {
    const { signal } = this.opts;
    if (!signal) return sleep(ms, keepAlive);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      if (!keepAlive) t.unref();
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private call<T>(
    method: 'GET' | 'POST',
    endpoint: string,
    schema: z.ZodType<T>,
    args: Record<string, unknown> = {},
  ): Promise<T> {
    return this.retrying(() => this.once(method, endpoint, schema, args));
  }

  /**
   * One line when an outage begins (the first retry), one when it ends: never one per retry. A flaky link (outages
   * within FLAP_QUIET_MS of the last one reported) is counted silently and summed up in the next line or on close.
   */
  private markDown(e: Error): void {
    if (this.downSince !== undefined || e instanceof RequestCutError || e instanceof StoreRaceError) return;
    this.downSince = Date.now();
    this.quietOutage = this.downSince < this.quietUntil;
    if (this.quietOutage) return void this.blips++;
    this.status(`tracking: ${e.message}; retrying with backoff, writes kept in memory and in ${this.journal.file}`);
  }

  private markUp(): void {
    if (this.downSince === undefined) return;
    const sec = ((Date.now() - this.downSince) / 1000).toFixed(1);
    this.downSince = undefined;
    if (this.quietOutage) return;
    const queued = `${this.queue.length} write(s) still queued`;
    this.status(`tracking: ${this.shownUri} answers again after ${sec} s; ${queued}${this.interruptions()}`);
    this.quietUntil = Date.now() + FLAP_QUIET_MS;
  }

  /** the writes sent again and the short interruptions not reported one by one, since the last line said so */
  private interruptions(): string {
    const parts: string[] = [];
    if (this.blips > 0) parts.push(`${this.blips} more short interruption(s), each retried`);
    if (this.resent > 0) parts.push(`${this.resent} write(s) sent again after a lost answer (held ones dropped)`);
    this.blips = 0;
    this.resent = 0;
    return parts.length > 0 ? `; ${parts.join('; ')}` : '';
  }

  // ---------- experiments ----------

  async getExperimentByName(name: string): Promise<string | undefined> {
    try {
      const r = await this.call('GET', 'experiments/get-by-name', Responses.getExperiment, { experiment_name: name });
      if (r.experiment.lifecycle_stage === 'deleted') return undefined;
      return r.experiment.experiment_id;
    } catch (e) {
      if (e instanceof MlflowApiError && (e.status === 404 || e.errorCode === 'RESOURCE_DOES_NOT_EXIST'))
        return undefined;
      throw e;
    }
  }

  async getOrCreateExperiment(name: string): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found !== undefined) return found;
    try {
      return (await this.call('POST', 'experiments/create', Responses.createExperiment, { name })).experiment_id;
    } catch (e) {
      if (!(e instanceof MlflowApiError && e.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw e;
      // another process created it meanwhile — or it exists in the deleted state
      const again = await this.getExperimentByName(name);
      if (again !== undefined) return again;
      throw new Error(
        `experiment ${JSON.stringify(name)} exists on ${this.shownUri} but is deleted: restore it (mlflow experiments restore) or use another sweep name`,
      );
    }
  }

  async listExperiments(): Promise<{ experimentId: string; name: string }[]> {
    const out: { experimentId: string; name: string }[] = [];
    let token: string | undefined;
    do {
      const r = await this.call('POST', 'experiments/search', Responses.searchExperiments, {
        max_results: 1000,
        view_type: 'ACTIVE_ONLY',
        ...(token ? { page_token: token } : {}),
      });
      for (const e of r.experiments) out.push({ experimentId: e.experiment_id, name: e.name });
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    checkKey('tag', key);
    checkValue('tag', key, value);
    await this.call('POST', 'experiments/set-experiment-tag', Responses.empty, {
      experiment_id: experimentId,
      key,
      value,
    });
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    try {
      const args = { experiment_id: experimentId, key };
      await this.call('POST', 'experiments/delete-experiment-tag', Responses.empty, args);
    } catch (e) {
      if (!(e instanceof MlflowApiError && (e.status === 404 || e.errorCode === 'RESOURCE_DOES_NOT_EXIST'))) throw e;
    }
  }

  async getExperimentTags(experimentId: string): Promise<Record<string, string>> {
    const r = await this.call('GET', 'experiments/get', Responses.experimentTags, { experiment_id: experimentId });
    return Object.fromEntries(r.experiment.tags.map((t) => [t.key, t.value]));
  }

  // ---------- runs ----------

  async createRun(
    experimentId: string,
    opts: { runName: string; tags?: Record<string, string>; startTime?: number },
  ): Promise<RunInfo> {
    const token = randomBytes(12).toString('hex');
    const tags = { ...(opts.tags ?? {}), [CREATE_TOKEN_TAG]: token };
    for (const [k, v] of Object.entries(tags)) {
      checkKey('tag', k);
      checkValue('tag', k, v);
    }
    const body = {
      experiment_id: experimentId,
      run_name: opts.runName,
      start_time: opts.startTime ?? Date.now(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    };
    // a create whose answer was lost may have created the run: look for its token before creating again
    const created = async (): Promise<z.infer<typeof RunSchema> | undefined> => {
      const filter = `tags.\`${CREATE_TOKEN_TAG}\` = '${token}'`;
      const args = { experiment_ids: [experimentId], filter, max_results: 10 };
      const found = await this.once('POST', 'runs/search', Responses.searchRuns, args);
      if (found.runs[0]) this.resent++;
      return found.runs[0];
    };
    const create = async (): Promise<z.infer<typeof RunSchema>> =>
      (await this.once('POST', 'runs/create', Responses.run, body)).run;
    const r = await this.retrying(create, undefined, created);
    const run = toRun(r);
    // a new run holds no steps
    this.seen.seed(run.info.runId);
    this.serverHeld.seed(run.info.runId);
    this.artifactUris.set(run.info.runId, run.info.artifactUri);
    return run.info;
  }

  async getRun(runId: string): Promise<Run> {
    await this.settle();
    const run = toRun((await this.call('GET', 'runs/get', Responses.run, { run_id: runId })).run);
    this.artifactUris.set(runId, run.info.artifactUri);
    return run;
  }

  async searchRuns(experimentIds: string[], filter?: string): Promise<Run[]> {
    await this.settle();
    const out: Run[] = [];
    let token: string | undefined;
    do {
      const r = await this.call('POST', 'runs/search', Responses.searchRuns, {
        experiment_ids: experimentIds,
        ...(filter ? { filter } : {}),
        run_view_type: 'ACTIVE_ONLY',
        max_results: this.opts.searchPageSize,
        ...(token ? { page_token: token } : {}),
      });
      out.push(...r.runs.map(toRun));
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    await this.settle();
    return this.fetchHistory(runId, key);
  }

  private async fetchHistory(runId: string, key: string, retry = true): Promise<MetricPoint[]> {
    const out: MetricPoint[] = [];
    let token: string | undefined;
    do {
      const args = { run_id: runId, metric_key: key, max_results: 25_000, ...(token ? { page_token: token } : {}) };
      const r = retry
        ? await this.call('GET', 'metrics/get-history', Responses.history, args)
        : await this.once('GET', 'metrics/get-history', Responses.history, args);
      for (const m of r.metrics)
        out.push({ key: m.key, value: fromWire(m.value), step: m.step, timestamp: m.timestamp });
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  /** every (key, step) the server holds for the run */
  private async serverPoints(runId: string, retry: boolean): Promise<MetricPoint[]> {
    const args = { run_id: runId };
    const r = retry
      ? await this.call('GET', 'runs/get', Responses.run, args)
      : await this.once('GET', 'runs/get', Responses.run, args);
    const points: MetricPoint[] = [];
    for (const m of r.run.data.metrics) points.push(...(await this.fetchHistory(runId, m.key, retry)));
    return points;
  }

  /** read the run's whole history from the server now (otherwise done before its first batch is sent) */
  async resumeRun(runId: string): Promise<void> {
    const points = await this.serverPoints(runId, true);
    this.seen.seed(runId, points);
    this.serverHeld.seed(runId, points);
    this.verify.delete(runId);
  }

  /** blocking (not queued): a run logs its datasets once, where it is created or resumed */
  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    if (datasets.length === 0) return;
    const body = {
      run_id: runId,
      datasets: datasets.map((d) => ({
        tags: Object.entries(d.tags).map(([key, value]) => ({ key, value })),
        dataset: {
          name: d.name,
          digest: d.digest,
          source_type: d.sourceType,
          source: d.source,
          ...(d.schema !== undefined ? { schema: d.schema } : {}),
          ...(d.profile !== undefined ? { profile: d.profile } : {}),
        },
      })),
    };
    await this.call('POST', 'runs/log-inputs', Responses.empty, body);
  }

  // ---------- queued writes ----------

  private enqueue(ops: QueuedOp[]): void {
    if (this.closed) throw new Error(`tracker for ${this.shownUri} is closed`);
    if (ops.length === 0) return;
    const entries = ops.map((op) => ({ seq: this.nextSeq++, op }));
    // queued first: the memory copy is the one that counts, the journal is its backup for a crash
    this.queue.push(...entries);
    this.journal.append(entries, () => this.queue);
    this.kick();
  }

  async logMetrics(runId: string, points: MetricPoint[]): Promise<void> {
    for (const p of points) checkMetric(p);
    if (!this.seen.isSeeded(runId)) {
      // a run this process did not create: compare with the server's history before sending
      this.seen.seed(runId);
      this.verify.add(runId);
    }
    const ops: QueuedOp[] = [];
    for (const p of points) {
      if (!this.seen.add(runId, p.key, p.step)) continue;
      ops.push({ kind: 'metric', runId, key: p.key, value: toWire(p.value), step: p.step, timestamp: p.timestamp });
    }
    this.enqueue(ops);
  }

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    const ops: QueuedOp[] = [];
    for (const [key, raw] of Object.entries(params)) {
      checkKey('param', key);
      const value = paramString(raw);
      checkValue('param', key, value);
      ops.push({ kind: 'param', runId, key, value });
    }
    this.enqueue(ops);
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    const ops: QueuedOp[] = [];
    for (const [key, value] of Object.entries(tags)) {
      checkKey('tag', key);
      if (typeof value !== 'string') throw new Error(`tag ${key}: value must be a string, got ${typeof value}`);
      checkValue('tag', key, value);
      ops.push({ kind: 'tag', runId, key, value });
    }
    this.enqueue(ops);
  }

  /** deleting a tag the run does not have is a no-op */
  async deleteTag(runId: string, key: string): Promise<void> {
    checkKey('tag', key);
    this.enqueue([{ kind: 'deleteTag', runId, key }]);
  }

  async setRunStatus(runId: string, status: RunStatus, endTime?: number): Promise<void> {
    const terminal = status === 'FINISHED' || status === 'FAILED' || status === 'KILLED';
    const end = endTime ?? (terminal ? Date.now() : undefined);
    this.enqueue([{ kind: 'update', runId, status, ...(end !== undefined ? { endTime: end } : {}) }]);
  }

  /** start the send loop if idle; `now` also cuts a retry backoff short (someone is waiting) */
  private kick(now = false): void {
    if (now && this.wake) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
    if (this.draining || this.queue.length === 0) return;
    this.draining = this.drainLoop().finally(() => {
      this.draining = undefined;
      // stopping with the server down: no loop of attempts; flush() reports what is left
      if (this.queue.length > 0 && !this.closed && !(this.stopping && this.downSince !== undefined)) this.kick();
    });
  }

  private async drainLoop(): Promise<void> {
    let attempt = 0;
    while (this.queue.length > 0) {
      try {
        await this.sendHead();
        attempt = 0;
        this.markUp();
      } catch (e) {
        if (!(e instanceof TrackingUnavailableError)) {
          // a bug or an unreadable answer: drop the head so the queue cannot stall forever, and report it
          const head = this.queue.shift();
          if (head) this.journal.ackThrough(head.seq, () => this.queue);
          this.errors.push(e as Error);
          continue;
        }
        this.markDown(e);
        // stopping: no backoff sleeps; the writes stay queued and journaled, flush() reports them
        if (this.stopping) return;
        // sleep with a timer that does not keep the process alive (the journal keeps the writes);
        // a new write or a flush() wakes the loop early
        await Promise.race([this.backoff(backoffMs(attempt++), false), new Promise<void>((r) => (this.wake = r))]);
        this.wake = undefined;
      }
    }
    this.journal.clear();
  }

  private ack(count: number): void {
    const done = this.queue.splice(0, count);
    const last = done[done.length - 1];
    if (last) this.journal.ackThrough(last.seq, () => this.queue);
  }

  private async sendHead(): Promise<void> {
    const head = this.queue[0];
    if (!head) return;
    const op = head.op;
    if (op.kind === 'deleteTag') return this.sendDeleteTag(op);
    if (op.kind === 'update') return this.sendUpdate(op);
    const runId = op.runId;
    const { batch, metrics } = collectBatch(this.queue, runId);
    if (this.verify.has(runId) && metrics > 0) await this.seedServerHeld(runId);
    // every batch, not only the first after a resume: the server's history was read once for the whole run
    const send = batch.filter((o) => o.kind !== 'metric' || !this.serverHeld.has(runId, o.key, o.step));
    if (this.failedInFlight) this.resent += send.length;
    if (send.length > 0 && !(await this.logBatch(runId, send, batch.length))) return;
    this.ack(batch.length);
  }

  /** a tag already gone (or its run) counts as deleted */
  private async sendDeleteTag(op: Extract<QueuedOp, { kind: 'deleteTag' }>): Promise<void> {
    try {
      await this.once('POST', 'runs/delete-tag', Responses.empty, { run_id: op.runId, key: op.key });
    } catch (e) {
      if (!(e instanceof MlflowApiError && (e.status === 404 || e.errorCode === 'RESOURCE_DOES_NOT_EXIST')))
        return this.reject(1, e);
    }
    return this.ack(1);
  }

  private async sendUpdate(op: Extract<QueuedOp, { kind: 'update' }>): Promise<void> {
    try {
      await this.once('POST', 'runs/update', Responses.empty, {
        run_id: op.runId,
        status: op.status,
        ...(op.endTime !== undefined ? { end_time: op.endTime } : {}),
      });
    } catch (e) {
      return this.reject(1, e);
    }
    return this.ack(1);
  }

  /** after a batch whose answer was lost: the run's metric points the server already holds, read once */
  private async seedServerHeld(runId: string): Promise<void> {
    // each request retried on its own: a flaky link must not restart a read of many keys from the beginning
    const points = await this.serverPoints(runId, true).catch((e: unknown) => {
      if (e instanceof MlflowApiError) return undefined; // the run is gone: let log-batch report it
      throw e;
    });
    if (points) this.serverHeld.seed(runId, points);
    this.verify.delete(runId);
  }

  /**
   * One log-batch request for `send` (the writes of a batch of `batchLength` the server does not hold yet). False
   * when the server refused it: the batch is then dropped and reported; an unreachable server throws.
   */
  private async logBatch(runId: string, send: BatchOp[], batchLength: number): Promise<boolean> {
    const body = {
      run_id: runId,
      metrics: send.flatMap((o) =>
        o.kind === 'metric' ? [{ key: o.key, value: o.value, step: o.step, timestamp: o.timestamp }] : [],
      ),
      params: send.flatMap((o) => (o.kind === 'param' ? [{ key: o.key, value: o.value }] : [])),
      tags: send.flatMap((o) => (o.kind === 'tag' ? [{ key: o.key, value: o.value }] : [])),
    };
    const t0 = performance.now();
    try {
      await this.once('POST', 'runs/log-batch', Responses.empty, body);
    } catch (e) {
      // the server may have stored the batch before the connection broke: check before resending
      if (!(e instanceof TrackingUnavailableError)) {
        this.reject(batchLength, e);
        return false;
      }
      this.verify.add(runId);
      this.failedInFlight = true;
      throw e;
    }
    this.failedInFlight = false;
    for (const o of send) if (o.kind === 'metric') this.serverHeld.add(runId, o.key, o.step);
    this.stats.latenciesMs.push(performance.now() - t0);
    this.stats.entities.push(send.length);
    this.stats.requests++;
    this.stats.metrics += body.metrics.length;
    this.stats.params += body.params.length;
    this.stats.tags += body.tags.length;
    return true;
  }

  /** a refused write is dropped (retrying cannot help) and reported by the next flush() */
  private reject(count: number, e: unknown): void {
    if (e instanceof TrackingUnavailableError) throw e;
    this.errors.push(e as Error);
    this.ack(count);
  }

  /** wait for the queue (bounded); reads call this so they see this tracker's writes */
  private async settle(maxWaitMs = this.opts.requestMaxWaitMs): Promise<void> {
    if (this.queue.length === 0) return;
    const deadline = Date.now() + maxWaitMs;
    // a ref'd timer keeps the process alive while someone waits
    while (this.queue.length > 0) {
      if (Date.now() > deadline) {
        throw new TrackingUnavailableError(
          `tracking: ${this.queue.length} writes still unsent to ${this.shownUri} after ${Math.round(maxWaitMs / 1000)} s (${this.downSince !== undefined ? 'server unreachable' : 'server slow'}); they are kept in ${this.journal.file} and will be sent by the next ganstudy process that logs to this server`,
        );
      }
      this.kick(true);
      const current = this.draining;
      await Promise.race([
        current ?? Promise.resolve(),
        sleep(Math.min(1000, Math.max(1, deadline - Date.now())), true),
      ]);
      if (this.stopping && this.downSince !== undefined && this.queue.length > 0) {
        throw new TrackingUnavailableError(
          `tracking: stopping with ${this.queue.length} write(s) unsent to ${this.shownUri} (unreachable); they are kept in ${this.journal.file} and will be sent by the next ganstudy process that logs to this server`,
        );
      }
    }
  }

  async flush(): Promise<void> {
    await this.settle(this.opts.flushMaxWaitMs);
    if (this.errors.length > 0) {
      const errs = this.errors.splice(0);
      throw new Error(
        `tracking: ${errs.length} write(s) were refused by ${this.shownUri}: ${errs.map((e) => e.message).join('; ')}`,
      );
    }
  }

  async close(): Promise<void> {
    try {
      await this.flush();
      const summary = this.interruptions();
      if (summary) this.status(`tracking: ${this.shownUri}${summary.replace(/^;/, ':')}`);
    } finally {
      this.closed = true;
      if (this.queue.length === 0) this.journal.clear();
    }
  }

  // ---------- artifacts ----------

  private async artifactUri(runId: string): Promise<string> {
    let u = this.artifactUris.get(runId);
    if (u === undefined) {
      u = toRun((await this.call('GET', 'runs/get', Responses.run, { run_id: runId })).run).info.artifactUri;
      this.artifactUris.set(runId, u);
    }
    return u;
  }

  /** the proxied-artifact URL for `rel` under the run's root, or the local folder of a file:// root */
  private async artifactLocation(runId: string, rel: string): Promise<{ url: string } | { dir: string }> {
    const root = await this.artifactUri(runId);
    const clean = rel.split('/').filter((p) => p !== '' && p !== '.');
    if (clean.includes('..')) throw new Error(`artifact path ${JSON.stringify(rel)} may not contain '..'`);
    if (root.startsWith('mlflow-artifacts:')) {
      const rootPath = new URL(root).pathname.split('/').filter(Boolean);
      return {
        url: `${this.base}/api/2.0/mlflow-artifacts/artifacts/${[...rootPath, ...clean].map(encodeURIComponent).join('/')}`,
      };
    }
    if (root.startsWith('file:'))
      return { dir: path.join(fileURLToPath(root.startsWith('file://') ? root : `file://${root.slice(5)}`), ...clean) };
    throw new Error(
      `run ${runId} stores artifacts at ${root}, which ganstudy cannot reach: start the MLflow server with --artifacts-destination (proxied artifacts)`,
    );
  }

  async logArtifact(runId: string, localPath: string, artifactPath = ''): Promise<void> {
    const st = await stat(localPath).catch(() => {
      throw new Error(`artifact ${localPath} does not exist`);
    });
    if (st.isDirectory()) {
      for (const e of await readdir(localPath))
        await this.logArtifact(runId, path.join(localPath, e), path.posix.join(artifactPath, path.basename(localPath)));
      return;
    }
    const loc = await this.artifactLocation(runId, path.posix.join(artifactPath, path.basename(localPath)));
    if ('dir' in loc) {
      await mkdir(path.dirname(loc.dir), { recursive: true });
      await cp(localPath, loc.dir);
      return;
    }
    const body = await readFile(localPath);
    await this.retrying(async () => {
      await this.fetchText(
        loc.url,
        {
          method: 'PUT',
          body,
          headers: { ...this.auth(), 'Content-Type': 'application/octet-stream' },
          signal: this.requestSignal(Math.max(this.opts.requestTimeoutMs, 120_000)),
        },
        `upload ${localPath}`,
      );
    }, this.opts.flushMaxWaitMs);
  }

  async listArtifacts(runId: string, artifactPath = ''): Promise<{ path: string; isDir: boolean; size?: number }[]> {
    const out: { path: string; isDir: boolean; size?: number }[] = [];
    let token: string | undefined;
    do {
      const r = await this.call('GET', 'artifacts/list', Responses.listArtifacts, {
        run_id: runId,
        ...(artifactPath ? { path: artifactPath } : {}),
        ...(token ? { page_token: token } : {}),
      });
      for (const f of r.files)
        out.push({
          path: f.path,
          isDir: f.is_dir,
          ...(f.file_size !== undefined && !f.is_dir ? { size: f.file_size } : {}),
        });
      token = r.next_page_token || undefined;
    } while (token);
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  async downloadArtifact(runId: string, artifactPath: string, localPath: string): Promise<void> {
    const loc = await this.artifactLocation(runId, artifactPath);
    await mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
    if ('dir' in loc) {
      await cp(loc.dir, localPath, { recursive: true });
      return;
    }
    const bytes = await this.retrying(async () => {
      let res: Response;
      try {
        res = await fetchOnFreshSocketIfStale(loc.url, {
          headers: this.auth(),
          signal: this.requestSignal(Math.max(this.opts.requestTimeoutMs, 120_000)),
        });
      } catch (e) {
        throw new TrackingUnavailableError(
          `download ${artifactPath}: ${this.shownUri} is unreachable (${errorCause(e)})`,
        );
      }
      if (res.status >= 500 || res.status === 429)
        throw new TrackingUnavailableError(`download ${artifactPath}: HTTP ${res.status}`);
      if (!res.ok)
        throw new MlflowApiError(
          `run ${runId} has no artifact ${artifactPath} (HTTP ${res.status})`,
          res.status,
          undefined,
        );
      return Buffer.from(await res.arrayBuffer());
    });
    await writeFile(localPath, bytes);
  }
}
