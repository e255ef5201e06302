/**
 * Trial identity (shared/design.md): the first 16 hex digits of SHA-256 over the canonical JSON of the fully
 * resolved trial configuration, seed included. Canonical = object keys sorted at every depth, no whitespace,
 * numbers as JavaScript prints them (shortest round-trip form), `undefined` fields left out as JSON does.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, '$'));
}

function sortKeys(value: unknown, at: string): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // JSON would silently write null: two different configs must never share an id
    throw new Error(`trial config ${at}: ${value} is not a finite number`);
  }
  if (Array.isArray(value)) return value.map((v, i) => sortKeys(v, `${at}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v, `${at}.${key}`);
    }
    return out;
  }
  return value;
}

/** 16 hex digits of SHA-256 over canonicalJson(config). */
export function trialId(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}
