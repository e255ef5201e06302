/**
 * MLflow's own rules for metric/param/tag names and its batch limits (mlflow/utils/validation.py of the
 * installed MLflow 3.x). Checked before anything is queued, so a bad name fails at the call that made it,
 * not minutes later inside a background flush.
 */
export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  /** the server rejects bodies over 1e6 bytes; stay well under it */
  batchBytes: 900_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
} as const;

const VALID_NAME = /^[\w\-. /:]+$/;

/** Same check as MLflow's validate_param_and_metric_name + path_not_unique (names become file paths). */
export function checkKey(kind: 'metric' | 'param' | 'tag', key: string): void {
  const bad = (why: string): never => {
    throw new Error(`invalid ${kind} name ${JSON.stringify(key)}: ${why}`);
  };
  if (typeof key !== 'string' || key.length === 0) bad('names must be non-empty strings');
  if (key.length > LIMITS.keyLength) bad(`at most ${LIMITS.keyLength} characters`);
  if (kind !== 'tag' && !VALID_NAME.test(key)) {
    bad('names may only contain alphanumerics, underscores, dashes, periods, spaces, colons and slashes');
  }
  const parts = key.split('/');
  if (key.startsWith('/') || key.endsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    bad('a name is also a file path: no leading/trailing slash, no empty, "." or ".." parts');
  }
  if (kind === 'tag' && /[\0\\]/.test(key)) bad('no NUL or backslash characters');
}

export function checkValue(kind: 'param' | 'tag', key: string, value: string): void {
  const max = kind === 'param' ? LIMITS.paramValueLength : LIMITS.tagValueLength;
  if (value.length > max)
    throw new Error(`${kind} ${JSON.stringify(key)}: value has ${value.length} characters, MLflow allows ${max}`);
}

export function checkMetric(p: { key: string; value: number; step: number; timestamp: number }): void {
  checkKey('metric', p.key);
  if (typeof p.value !== 'number') throw new Error(`metric ${p.key}: value must be a number, got ${typeof p.value}`);
  if (!Number.isInteger(p.step)) throw new Error(`metric ${p.key}: step must be an integer, got ${p.step}`);
  if (!Number.isInteger(p.timestamp))
    throw new Error(`metric ${p.key}: timestamp must be integer ms, got ${p.timestamp}`);
}

/** params are logged as strings; numbers keep their JavaScript spelling (2e-4 stays "0.0002") */
export function paramString(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}
