/**
 * The one argument parser of every command: node:util's parseArgs (no dependency, strict, and what Node's own
 * tools use), wrapped once so every command follows the same conventions:
 *   - `--help`/`-h` and `--verbose`/`-v` everywhere;
 *   - an unknown flag is one line naming the closest valid flag (edit distance), not the whole help;
 *   - a value may be negative (`--seed -1`): parseArgs would read it as a flag;
 *   - values are strings here; `wholeNumber` and `oneOf` turn them into typed values with one
 *     wording ("--steps: expected a whole number, got \"2.5\"").
 * Failures are UserErrors (exit 2), so main.ts prints them as one line.
 */
import { parseArgs } from 'node:util';
import { UserError } from './errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** flags every command takes */
export const COMMON_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies FlagSpecs;

/** the store flag of every command that reads or writes the tracking store */
export const TRACKING_FLAG = { 'tracking-uri': { type: 'string' } } as const satisfies FlagSpecs;

type Value<S extends FlagSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

export type ParsedFlags<S extends FlagSpecs> = { [K in keyof S]?: Value<S[K]> } & { help?: boolean; verbose?: boolean };

export interface ParsedCommandLine<S extends FlagSpecs> {
  flags: ParsedFlags<S>;
  positionals: string[];
}

/** Levenshtein distance, for "did you mean" */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** the valid flag closest to `name`, when it is close enough to be a likely typo */
export function closestFlag(name: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const v of valid) {
    const d = v.startsWith(name) || name.startsWith(v) ? Math.abs(v.length - name.length) * 0.5 : editDistance(name, v);
    if (d < bestDistance) [best, bestDistance] = [v, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/** `--flag -3` → `--flag=-3` for string flags, so a negative value is not taken for a flag */
function joinNegativeValues(argv: readonly string[], specs: FlagSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    const next = argv[i + 1];
    if (name !== undefined && specs[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function unknownFlag(token: string, specs: FlagSpecs, command: string): UserError {
  const name = token.replace(/^-+/, '').split('=')[0];
  const near = closestFlag(name, Object.keys(specs));
  const hint = near !== undefined ? `; did you mean --${near}?` : `; see ganstudy ${command} --help`;
  return new UserError(`unknown option ${token.split('=')[0]}${hint}`, 2);
}

/** Parses argv against `specs` (plus --help and --verbose); positionals must number within [min, max]. */
export function parseCommandLine<S extends FlagSpecs>(
  command: string,
  argv: readonly string[],
  specs: S,
  positionals: PositionalCount = { min: 0, max: 0, what: 'argument' },
): ParsedCommandLine<S> {
  const all: FlagSpecs = { ...COMMON_FLAGS, ...specs };
  const args = joinNegativeValues(argv, all);
  for (const a of args) {
    if (a === '--') break;
    if (a.startsWith('--') && !(a.slice(2).split('=')[0] in all)) throw unknownFlag(a, all, command);
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const token = /'([^']+)'/.exec(err.message)?.[1] ?? '?';
      throw unknownFlag(token, all, command);
    }
    throw new UserError(firstLine(err.message), 2);
  }
  const flags = parsed.values as ParsedFlags<S>;
  if (flags.help !== true) {
    const n = parsed.positionals.length;
    if (n < positionals.min || n > positionals.max) throw wrongPositionals(command, parsed.positionals, positionals);
  }
  return { flags, positionals: parsed.positionals };
}

interface PositionalCount {
  min: number;
  max: number;
  what: string;
}

function wrongPositionals(command: string, given: string[], want: PositionalCount): UserError {
  const count = want.max === 0 ? 'no' : want.min === want.max ? `${want.min}` : `${want.min} to ${want.max}`;
  const got = want.max === 0 ? `: "${given[0]}" (options start with --)` : `, got ${given.length}`;
  const plural = want.max === 1 ? '' : 's';
  return new UserError(`expected ${count} ${want.what}${plural}${got}; see ganstudy ${command} --help`, 2);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** `--flag` as a whole number ≥ min (undefined when absent) */
export function wholeNumber(flag: string, raw: string | undefined, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v)) {
    throw new UserError(`--${flag}: expected a whole number, got "${raw}"`, 2);
  }
  if (v < min) throw new UserError(`--${flag}: expected a whole number >= ${min}, got "${raw}"`, 2);
  return v;
}

/** `--flag` as one of `values` (undefined when absent) */
export function oneOf<T extends string>(flag: string, raw: string | undefined, values: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(values as readonly string[]).includes(raw)) {
    throw new UserError(`--${flag}: expected one of ${values.join(', ')}, got "${raw}"`, 2);
  }
  return raw as T;
}
