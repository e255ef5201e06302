/**
 * Which experiments of a tracking store hold ganstudy sweeps (for `ganstudy plots` without --sweep).
 * The Tracker contract has no experiment listing; a tracker that offers `listExperiments()` is used as is,
 * otherwise the store is listed directly: MLflow's REST `experiments/search` (paged) or the file store's
 * `<root>/<id>/meta.yaml`.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TAGS, type Tracker } from '../tracking/types.js';

export interface ExperimentRef {
  experimentId: string;
  name: string;
}

interface ListingTracker {
  listExperiments(): Promise<ExperimentRef[]>;
}

function hasListing(t: Tracker): t is Tracker & ListingTracker {
  return typeof (t as Partial<ListingTracker>).listExperiments === 'function';
}

const SearchExperimentsResponse = z.object({
  experiments: z
    .array(z.object({ experiment_id: z.string(), name: z.string(), lifecycle_stage: z.string().optional() }))
    .optional(),
  next_page_token: z.string().optional(),
});

function authHeaders(): Record<string, string> {
  const token = process.env.MLFLOW_TRACKING_TOKEN;
  if (token) return { Authorization: `Bearer ${token}` };
  const user = process.env.MLFLOW_TRACKING_USERNAME;
  const pass = process.env.MLFLOW_TRACKING_PASSWORD;
  if (user && pass) return { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
  return {};
}

async function listRest(uri: string): Promise<ExperimentRef[]> {
  const out: ExperimentRef[] = [];
  let pageToken: string | undefined;
  do {
    const res = await fetch(`${uri.replace(/\/+$/, '')}/api/2.0/mlflow/experiments/search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeaders() },
      body: JSON.stringify({ max_results: 1000, view_type: 'ACTIVE_ONLY', ...(pageToken ? { page_token: pageToken } : {}) }),
    });
    if (!res.ok) throw new Error(`listing experiments at ${uri} failed: HTTP ${res.status} ${await res.text()}`);
    const body = SearchExperimentsResponse.parse(await res.json());
    for (const e of body.experiments ?? []) out.push({ experimentId: e.experiment_id, name: e.name });
    pageToken = body.next_page_token || undefined;
  } while (pageToken);
  return out;
}

function fileStoreRoot(uri: string): string {
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  return path.resolve(uri.startsWith('file:') ? uri.slice('file:'.length) : uri);
}

async function listFileStore(uri: string): Promise<ExperimentRef[]> {
  const root = fileStoreRoot(uri);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    throw new Error(`tracking store ${root} does not exist: run a sweep first, or set MLFLOW_TRACKING_URI`);
  }
  const out: ExperimentRef[] = [];
  for (const id of entries) {
    if (id.startsWith('.') || id === '.trash' || id === 'models') continue;
    let meta: string;
    try {
      meta = await readFile(path.join(root, id, 'meta.yaml'), 'utf8');
    } catch {
      continue;
    }
    const name = /^name:\s*(.*)$/m.exec(meta)?.[1]?.trim().replace(/^['"]|['"]$/g, '');
    const stage = /^lifecycle_stage:\s*(\S+)/m.exec(meta)?.[1];
    if (name && stage !== 'deleted') out.push({ experimentId: id, name });
  }
  return out;
}

export async function listExperiments(tracker: Tracker): Promise<ExperimentRef[]> {
  if (hasListing(tracker)) return tracker.listExperiments();
  return /^https?:\/\//.test(tracker.uri) ? listRest(tracker.uri) : listFileStore(tracker.uri);
}

/** Names of the experiments that hold at least one run tagged `ganstudy.sweep`, sorted. */
export async function discoverSweeps(tracker: Tracker): Promise<string[]> {
  const names: string[] = [];
  for (const e of await listExperiments(tracker)) {
    const runs = await tracker.searchRuns([e.experimentId]);
    if (runs.some((r) => r.tags[TAGS.sweep] !== undefined)) names.push(e.name);
  }
  return names.sort();
}
