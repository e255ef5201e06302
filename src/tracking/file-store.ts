/**
 * `FileStoreTracker`: MLflow's file store written directly, in the layout the installed MLflow 3.x reads
 * (mlflow/store/tracking/file_store.py), so `mlflow ui --backend-store-uri ./mlruns` and
 * `MlflowClient('file:./mlruns')` show ganstudy's runs without a server. (MLflow 3 keeps the file store in
 * maintenance mode: its Python side refuses it unless MLFLOW_ALLOW_FILE_STORE=true is set.)
 *
 *   <root>/0/meta.yaml                       the Default experiment, made with the store
 *   <root>/.trash/
 *   <root>/<exp_id>/meta.yaml                artifact_location, creation_time, experiment_id, last_update_time, lifecycle_stage, name
 *   <root>/<exp_id>/<run_id>/meta.yaml       artifact_uri, end_time, ..., status (RUNNING=1 … KILLED=5), tags: [], user_id
 *   <root>/<exp_id>/<run_id>/params/<key>    the value, no newline
 *   <root>/<exp_id>/<run_id>/tags/<key>      the value, no newline
 *   <root>/<exp_id>/<run_id>/metrics/<key>   one line per point: "<timestamp ms> <value> <step>"
 *   <root>/<exp_id>/<run_id>/artifacts/...
 * Keys with '/' are nested folders (metrics/train/loss_d), as MLflow does it.
 *
 * Files other than metrics are written to a temporary name in the run folder and renamed into place, so a
 * reader never sees half a value; metric points are appended one batch per key in a single write.
 * searchRuns evaluates the filter subset documented in filter.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, copyFile, cp, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SeenSteps } from './dedup.js';
import { matchesFilter, parseFilter } from './filter.js';
import { checkKey, checkMetric, checkValue, paramString } from './keys.js';
import type { MetricPoint, Run, RunInfo, RunStatus, Tracker } from './types.js';
import { readFlatYaml, writeFlatYaml, type YamlScalar } from './yaml.js';

export const STATUS_CODES: Record<RunStatus, number> = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 };
const STATUS_NAMES = Object.fromEntries(Object.entries(STATUS_CODES).map(([k, v]) => [v, k as RunStatus])) as Record<number, RunStatus>;
/** folders inside an experiment that are not runs (FileStore.RESERVED_EXPERIMENT_FOLDERS) */
const RESERVED = new Set(['tags', 'datasets', 'traces', 'models']);
const DEFAULT_EXPERIMENT_ID = '0';

/** `file:` URI or path → absolute folder */
export function fileStoreRoot(uriOrPath: string): string {
  if (uriOrPath.startsWith('file://')) return fileURLToPath(uriOrPath);
  if (uriOrPath.startsWith('file:')) return path.resolve(uriOrPath.slice('file:'.length));
  return path.resolve(uriOrPath);
}

/** MLflow writes 'nan'/'inf'; JavaScript writes 'NaN'/'Infinity'; read both */
function parseMetricValue(s: string): number {
  const l = s.toLowerCase();
  if (l === 'nan') return NaN;
  if (l === 'inf' || l === 'infinity' || l === '+inf') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  return Number(s);
}

function parseMetricLine(key: string, line: string, file: string): MetricPoint {
  const parts = line.trim().split(' ');
  if (parts.length !== 2 && parts.length !== 3 && parts.length !== 5) {
    throw new Error(`${file}: malformed metric line ${JSON.stringify(line)} (expected "timestamp value step")`);
  }
  return { key, timestamp: Number(parts[0]), value: parseMetricValue(parts[1] as string), step: parts.length >= 3 ? Number(parts[2]) : 0 };
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** every file under dir, as posix paths relative to it (keys with '/' are nested folders) */
async function walkFiles(dir: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(path.join(dir, e.name), rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

function userId(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

export class FileStoreTracker implements Tracker {
  readonly uri: string;
  readonly root: string;
  private readonly seen = new SeenSteps();
  private readonly seeding = new Map<string, Promise<void>>();
  private readonly runDirs = new Map<string, string>();
  private ready: Promise<void> | undefined;

  constructor(uriOrPath: string = './mlruns') {
    this.root = fileStoreRoot(uriOrPath);
    this.uri = pathToFileURL(this.root).href;
  }

  // ---------- store and experiments ----------

  private init(): Promise<void> {
    this.ready ??= (async () => {
      if (!(await exists(path.join(this.root, DEFAULT_EXPERIMENT_ID, 'meta.yaml')))) {
        await mkdir(this.root, { recursive: true });
        await this.withLock(async () => {
          if (!(await exists(path.join(this.root, DEFAULT_EXPERIMENT_ID, 'meta.yaml')))) {
            await this.writeExperiment(DEFAULT_EXPERIMENT_ID, 'Default');
          }
        });
      }
      await mkdir(path.join(this.root, '.trash'), { recursive: true });
    })();
    return this.ready;
  }

  /** experiment creation across processes (parallel trials share one store): an exclusive lock file */
  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = path.join(this.root, '.ganstudy-experiments.lock');
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const fh = await open(lock, 'wx');
        await fh.close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        try {
          // a lock older than 30 s belongs to a process that died holding it
          if (Date.now() - (await stat(lock)).mtimeMs > 30_000) await rm(lock, { force: true });
        } catch {
          // gone already
        }
        if (Date.now() > deadline) throw new Error(`${lock} stayed locked for 30 s: remove it if no ganstudy process is running`);
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 50));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async atomicWrite(dirForTmp: string, target: string, content: string): Promise<void> {
    const tmp = path.join(dirForTmp, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(tmp, content);
    await rename(tmp, target);
  }

  private async writeExperiment(id: string, name: string): Promise<void> {
    const dir = path.join(this.root, id);
    await mkdir(dir, { recursive: true });
    const now = Date.now();
    await this.atomicWrite(
      this.root,
      path.join(dir, 'meta.yaml'),
      writeFlatYaml({
        artifact_location: pathToFileURL(dir).href,
        creation_time: now,
        experiment_id: id,
        last_update_time: now,
        lifecycle_stage: 'active',
        name,
      }),
    );
  }

  async listExperiments(): Promise<{ experimentId: string; name: string }[]> {
    await this.init();
    const out: { experimentId: string; name: string }[] = [];
    for (const e of await readdir(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.') || e.name === 'models') continue;
      const file = path.join(this.root, e.name, 'meta.yaml');
      let meta: Record<string, YamlScalar>;
      try {
        meta = readFlatYaml(await readFile(file, 'utf8'), file);
      } catch {
        continue; // not an experiment (or one being written right now)
      }
      if (meta.lifecycle_stage === 'deleted' || typeof meta.name !== 'string') continue;
      out.push({ experimentId: String(meta.experiment_id ?? e.name), name: meta.name });
    }
    return out;
  }

  async getExperimentByName(name: string): Promise<string | undefined> {
    return (await this.listExperiments()).find((e) => e.name === name)?.experimentId;
  }

  async getOrCreateExperiment(name: string): Promise<string> {
    if (!name || name.length > 500) throw new Error(`experiment name must have 1 to 500 characters, got ${JSON.stringify(name)}`);
    const found = await this.getExperimentByName(name);
    if (found !== undefined) return found;
    return this.withLock(async () => {
      const again = await this.getExperimentByName(name);
      if (again !== undefined) return again;
      // MLflow's file store uses random 18-digit ids (_generate_unique_integer_id)
      let id: string;
      do id = (BigInt(`0x${randomBytes(8).toString('hex')}`) % 10n ** 18n).toString().padStart(18, '1');
      while (await exists(path.join(this.root, id)));
      await this.writeExperiment(id, name);
      return id;
    });
  }

  // ---------- runs ----------

  private async findRunDir(runId: string): Promise<string> {
    if (!/^[0-9a-f]{32}$/.test(runId) && !/^[\w-]{1,64}$/.test(runId)) throw new Error(`invalid run id ${JSON.stringify(runId)}`);
    const cached = this.runDirs.get(runId);
    if (cached) return cached;
    await this.init();
    for (const e of await readdir(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === '.trash') continue;
      const dir = path.join(this.root, e.name, runId);
      if (await exists(path.join(dir, 'meta.yaml'))) {
        this.runDirs.set(runId, dir);
        return dir;
      }
    }
    throw new Error(`run ${runId} not found in the file store ${this.root}`);
  }

  private async readMeta(runDir: string): Promise<Record<string, YamlScalar>> {
    const file = path.join(runDir, 'meta.yaml');
    return readFlatYaml(await readFile(file, 'utf8'), file);
  }

  private async writeMeta(runDir: string, meta: Record<string, YamlScalar>): Promise<void> {
    await this.atomicWrite(runDir, path.join(runDir, 'meta.yaml'), writeFlatYaml(meta));
  }

  private infoFromMeta(meta: Record<string, YamlScalar>, tags: Record<string, string>, file: string): RunInfo {
    const status = STATUS_NAMES[typeof meta.status === 'number' ? meta.status : 1];
    if (!status) throw new Error(`${file}: unknown status ${String(meta.status)}`);
    const endTime = typeof meta.end_time === 'number' ? meta.end_time : undefined;
    return {
      runId: String(meta.run_id ?? meta.run_uuid),
      experimentId: String(meta.experiment_id),
      runName: typeof meta.run_name === 'string' && meta.run_name !== '' ? meta.run_name : (tags['mlflow.runName'] ?? ''),
      status,
      startTime: typeof meta.start_time === 'number' ? meta.start_time : 0,
      ...(endTime !== undefined ? { endTime } : {}),
      artifactUri: String(meta.artifact_uri ?? ''),
    };
  }

  async createRun(experimentId: string, opts: { runName: string; tags?: Record<string, string>; startTime?: number }): Promise<RunInfo> {
    await this.init();
    const expDir = path.join(this.root, experimentId);
    if (!/^\d+$/.test(experimentId) || !(await exists(path.join(expDir, 'meta.yaml')))) {
      throw new Error(`experiment ${JSON.stringify(experimentId)} does not exist in ${this.root}: use getOrCreateExperiment`);
    }
    const tags = { ...(opts.tags ?? {}) };
    for (const [k, v] of Object.entries(tags)) (checkKey('tag', k), checkValue('tag', k, v));
    const runId = randomUUID().replace(/-/g, '');
    const runDir = path.join(expDir, runId);
    const startTime = opts.startTime ?? Date.now();
    for (const sub of ['metrics', 'params', 'artifacts', 'tags']) await mkdir(path.join(runDir, sub), { recursive: true });
    const artifactUri = pathToFileURL(path.join(runDir, 'artifacts')).href;
    tags['mlflow.runName'] = opts.runName;
    if (!tags['mlflow.user']) tags['mlflow.user'] = userId();
    await this.writeTags(runDir, tags);
    await this.writeMeta(runDir, {
      artifact_uri: artifactUri,
      end_time: null,
      entry_point_name: '',
      experiment_id: experimentId,
      lifecycle_stage: 'active',
      run_id: runId,
      run_name: opts.runName,
      source_name: '',
      source_type: 4,
      source_version: '',
      start_time: startTime,
      status: STATUS_CODES.RUNNING,
      tags: [],
      user_id: userId(),
    });
    this.runDirs.set(runId, runDir);
    this.seen.seed(runId); // a new run holds no steps yet
    return { runId, experimentId, runName: opts.runName, status: 'RUNNING', startTime, artifactUri };
  }

  private async readRun(runDir: string): Promise<Run & { deleted: boolean }> {
    const meta = await this.readMeta(runDir);
    const params: Record<string, string> = {};
    for (const k of await walkFiles(path.join(runDir, 'params'))) params[k] = await readFile(path.join(runDir, 'params', k), 'utf8');
    const tags: Record<string, string> = {};
    for (const k of await walkFiles(path.join(runDir, 'tags'))) tags[k] = await readFile(path.join(runDir, 'tags', k), 'utf8');
    const metrics: Record<string, number> = {};
    for (const k of await walkFiles(path.join(runDir, 'metrics'))) {
      const points = await this.readHistory(runDir, k);
      // MLflow reports the point with the largest (step, timestamp, value)
      let best: MetricPoint | undefined;
      for (const p of points) {
        if (!best || p.step > best.step || (p.step === best.step && (p.timestamp > best.timestamp || (p.timestamp === best.timestamp && p.value > best.value)))) best = p;
      }
      if (best) metrics[k] = best.value;
    }
    const info = this.infoFromMeta(meta, tags, path.join(runDir, 'meta.yaml'));
    return { info, params, metrics, tags, deleted: meta.lifecycle_stage === 'deleted' };
  }

  async getRun(runId: string): Promise<Run> {
    const { deleted: _deleted, ...run } = await this.readRun(await this.findRunDir(runId));
    return run;
  }

  async searchRuns(experimentIds: string[], filter?: string): Promise<Run[]> {
    const clauses = parseFilter(filter ?? '');
    await this.init();
    const runs: Run[] = [];
    for (const exp of experimentIds) {
      const expDir = path.join(this.root, exp);
      let entries;
      try {
        entries = await readdir(expDir, { withFileTypes: true });
      } catch {
        continue; // MLflow answers an unknown experiment with no runs
      }
      for (const e of entries) {
        if (!e.isDirectory() || RESERVED.has(e.name) || e.name.startsWith('.')) continue;
        const dir = path.join(expDir, e.name);
        if (!(await exists(path.join(dir, 'meta.yaml')))) continue;
        const { deleted, ...run } = await this.readRun(dir);
        this.runDirs.set(run.info.runId, dir);
        if (!deleted && matchesFilter(run, clauses)) runs.push(run);
      }
    }
    // MLflow's default order: newest first, then run id
    return runs.sort((a, b) => b.info.startTime - a.info.startTime || (a.info.runId < b.info.runId ? -1 : 1));
  }

  async setRunStatus(runId: string, status: RunStatus, endTime?: number): Promise<void> {
    const runDir = await this.findRunDir(runId);
    const meta = await this.readMeta(runDir);
    meta.status = STATUS_CODES[status];
    const terminal = status === 'FINISHED' || status === 'FAILED' || status === 'KILLED';
    meta.end_time = terminal ? (endTime ?? Date.now()) : (endTime ?? null);
    await this.writeMeta(runDir, meta);
  }

  // ---------- params, tags, metrics ----------

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    const runDir = await this.findRunDir(runId);
    for (const [k, raw] of Object.entries(params)) {
      checkKey('param', k);
      const v = paramString(raw);
      checkValue('param', k, v);
      const file = path.join(runDir, 'params', k);
      let current: string | undefined;
      try {
        current = await readFile(file, 'utf8');
      } catch {
        current = undefined;
      }
      if (current === v) continue;
      // MLflow forbids changing a logged param
      if (current !== undefined) throw new Error(`param ${k} of run ${runId} is already ${JSON.stringify(current)}; MLflow does not allow changing it to ${JSON.stringify(v)}`);
      await this.atomicWrite(runDir, file, v);
    }
  }

  private async writeTags(runDir: string, tags: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(tags)) await this.atomicWrite(runDir, path.join(runDir, 'tags', k), v);
  }

  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(tags)) {
      checkKey('tag', k);
      if (typeof v !== 'string') throw new Error(`tag ${k}: value must be a string, got ${typeof v}`);
      checkValue('tag', k, v);
    }
    const runDir = await this.findRunDir(runId);
    await this.writeTags(runDir, tags);
    if (tags['mlflow.runName'] !== undefined) {
      // MLflow keeps run_name in meta.yaml in step with the tag
      const meta = await this.readMeta(runDir);
      meta.run_name = tags['mlflow.runName'];
      await this.writeMeta(runDir, meta);
    }
  }

  /** deleting a tag the run does not have is a no-op (the REST backend behaves the same) */
  async deleteTag(runId: string, key: string): Promise<void> {
    checkKey('tag', key);
    await rm(path.join(await this.findRunDir(runId), 'tags', key), { force: true });
  }

  private async readHistory(runDir: string, key: string): Promise<MetricPoint[]> {
    const file = path.join(runDir, 'metrics', key);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => parseMetricLine(key, l, file));
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    checkKey('metric', key);
    return this.readHistory(await this.findRunDir(runId), key);
  }

  /** fill the run's (key, step) set from its metric files; done lazily on the first log for a run */
  async resumeRun(runId: string): Promise<void> {
    let p = this.seeding.get(runId);
    if (!p) {
      p = (async () => {
        const runDir = await this.findRunDir(runId);
        const points: MetricPoint[] = [];
        for (const k of await walkFiles(path.join(runDir, 'metrics'))) points.push(...(await this.readHistory(runDir, k)));
        this.seen.seed(runId, points);
      })();
      this.seeding.set(runId, p);
      p.catch(() => this.seeding.delete(runId));
    }
    return p;
  }

  async logMetrics(runId: string, points: MetricPoint[]): Promise<void> {
    for (const p of points) checkMetric(p);
    if (!this.seen.isSeeded(runId)) await this.resumeRun(runId);
    const runDir = await this.findRunDir(runId);
    const byKey = new Map<string, string[]>();
    for (const p of points) {
      if (!this.seen.add(runId, p.key, p.step)) continue; // (key, step) already logged
      let lines = byKey.get(p.key);
      if (!lines) byKey.set(p.key, (lines = []));
      lines.push(`${p.timestamp} ${p.value} ${p.step}\n`);
    }
    for (const [key, lines] of byKey) {
      const file = path.join(runDir, 'metrics', key);
      await mkdir(path.dirname(file), { recursive: true });
      await appendFile(file, lines.join(''));
    }
  }

  // ---------- artifacts ----------

  private artifactTarget(runDir: string, rel: string): string {
    const root = path.join(runDir, 'artifacts');
    const target = path.resolve(root, rel);
    if (target !== root && !target.startsWith(root + path.sep)) throw new Error(`artifact path ${JSON.stringify(rel)} leaves the run's artifact folder`);
    return target;
  }

  async logArtifact(runId: string, localPath: string, artifactPath = ''): Promise<void> {
    const runDir = await this.findRunDir(runId);
    const st = await stat(localPath).catch(() => {
      throw new Error(`artifact ${localPath} does not exist`);
    });
    const dest = this.artifactTarget(runDir, path.posix.join(artifactPath || '.', path.basename(localPath)));
    await mkdir(path.dirname(dest), { recursive: true });
    if (st.isDirectory()) await cp(localPath, dest, { recursive: true });
    else {
      const tmp = path.join(runDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      await copyFile(localPath, tmp);
      await rename(tmp, dest);
    }
  }

  async listArtifacts(runId: string, artifactPath = ''): Promise<{ path: string; isDir: boolean; size?: number }[]> {
    const dir = this.artifactTarget(await this.findRunDir(runId), artifactPath || '.');
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    const out: { path: string; isDir: boolean; size?: number }[] = [];
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const rel = artifactPath ? path.posix.join(artifactPath, e.name) : e.name;
      if (e.isDirectory()) out.push({ path: rel, isDir: true });
      else out.push({ path: rel, isDir: false, size: (await stat(path.join(dir, e.name))).size });
    }
    return out;
  }

  async downloadArtifact(runId: string, artifactPath: string, localPath: string): Promise<void> {
    const src = this.artifactTarget(await this.findRunDir(runId), artifactPath);
    if (!(await exists(src))) throw new Error(`run ${runId} has no artifact ${artifactPath}`);
    await mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
    await cp(src, localPath, { recursive: true });
  }

  /** writes are durable once each call resolves: nothing is buffered */
  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

