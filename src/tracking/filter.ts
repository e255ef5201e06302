/**
 * The subset of MLflow's search filter syntax the file store evaluates itself (the REST backend hands the
 * filter to the server unchanged). Supported: clauses joined by AND (case-insensitive), each
 *   tags.<key> | params.<key>        =  !=                      'string' | "string"
 *   metrics.<key>                    =  !=  <  <=  >  >=        number
 *   attributes.status | run_name | run_id   =  !=              'string'
 *   attributes.start_time | end_time        =  !=  <  <=  >  >=  number
 * where <key> is a bare name (letters, digits, _ . / : -) or quoted with backticks or double quotes
 * (`tags.\`ganstudy.trial_id\` = 'x'`). The entity prefixes accept MLflow's aliases (tag, param, metric,
 * attribute, attr, run). Anything else — OR, LIKE/ILIKE, IN, parentheses — fails with a message saying so.
 * Like MLflow, a clause on a tag/param/metric the run lacks does not match.
 */
import type { Run } from './types.js';

type Entity = 'tags' | 'params' | 'metrics' | 'attributes';
type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface Clause {
  entity: Entity;
  key: string;
  op: Op;
  value: string | number;
}

const SUPPORTED = "supported: clauses joined by AND of tags.<k> / params.<k> (= != 'text'), metrics.<k> (= != < <= > >= number), attributes.status|run_name|run_id (= != 'text'), attributes.start_time|end_time (comparisons with a number)";

const ENTITY_ALIASES: Record<string, Entity> = {
  tags: 'tags', tag: 'tags',
  params: 'params', param: 'params', parameters: 'params', parameter: 'params',
  metrics: 'metrics', metric: 'metrics',
  attributes: 'attributes', attribute: 'attributes', attr: 'attributes', run: 'attributes',
};
const STRING_ATTRS = new Set(['status', 'run_name', 'run_id']);
const NUMBER_ATTRS = new Set(['start_time', 'end_time']);

export function parseFilter(filter: string): Clause[] {
  const src = filter.trim();
  if (src === '') return [];
  const fail = (at: number, why: string): never => {
    throw new Error(`filter ${JSON.stringify(filter)}: ${why} at position ${at}. The file store evaluates a subset of MLflow's syntax — ${SUPPORTED}`);
  };
  let i = 0;
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i] as string)) i++;
  };
  const quoted = (q: string): string => {
    const start = i;
    i++;
    let out = '';
    while (i < src.length && src[i] !== q) {
      if (src[i] === '\\' && i + 1 < src.length) i++;
      out += src[i];
      i++;
    }
    if (i >= src.length) fail(start, `unterminated ${q}quote`);
    i++;
    return out;
  };
  const clauses: Clause[] = [];
  for (;;) {
    ws();
    if (src[i] === '(') fail(i, 'parentheses are not supported');
    // identifier: [entity.]key
    const identStart = i;
    const word = /^[A-Za-z_][A-Za-z_]*/.exec(src.slice(i))?.[0];
    if (!word) fail(i, 'expected tags., params., metrics. or attributes.');
    i += (word as string).length;
    let entity: Entity;
    let key: string;
    if (src[i] === '.') {
      const e = ENTITY_ALIASES[(word as string).toLowerCase()];
      if (!e) fail(identStart, `unknown entity ${JSON.stringify(word)}`);
      entity = e as Entity;
      i++;
      if (src[i] === '`' || src[i] === '"') key = quoted(src[i] as string);
      else {
        const k = /^[\w.:/-]+/.exec(src.slice(i))?.[0];
        if (!k) fail(i, 'expected a key');
        key = k as string;
        i += key.length;
      }
    } else {
      entity = 'attributes';
      key = word as string;
    }
    ws();
    const op = /^(!=|<=|>=|=|<|>)/.exec(src.slice(i))?.[0] as Op | undefined;
    if (!op) {
      const w = /^\S+/.exec(src.slice(i))?.[0] ?? 'end of filter';
      fail(i, `comparator ${JSON.stringify(w)} is not supported`);
    }
    i += (op as string).length;
    ws();
    let value: string | number;
    if (src[i] === "'" || src[i] === '"') value = quoted(src[i] as string);
    else {
      const num = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(i))?.[0];
      if (!num) fail(i, 'expected a quoted string or a number');
      value = Number(num);
      i += (num as string).length;
    }
    const clause: Clause = { entity, key, op: op as Op, value };
    validateClause(clause, (why) => fail(identStart, why));
    clauses.push(clause);
    ws();
    if (i >= src.length) break;
    const and = /^and\b/i.exec(src.slice(i));
    if (!and) fail(i, /^or\b/i.test(src.slice(i)) ? 'OR is not supported' : 'expected AND');
    i += 3;
  }
  return clauses;
}

function validateClause(c: Clause, fail: (why: string) => never): void {
  const isEq = c.op === '=' || c.op === '!=';
  if (c.entity === 'tags' || c.entity === 'params') {
    if (!isEq) fail(`${c.entity}.${c.key} supports only = and !=`);
    if (typeof c.value !== 'string') fail(`${c.entity}.${c.key} must be compared with a quoted string`);
  } else if (c.entity === 'metrics') {
    if (typeof c.value !== 'number') fail(`metrics.${c.key} must be compared with a number`);
  } else {
    const k = c.key.toLowerCase();
    c.key = k;
    if (STRING_ATTRS.has(k)) {
      if (!isEq || typeof c.value !== 'string') fail(`attributes.${k} supports = and != with a quoted string`);
    } else if (NUMBER_ATTRS.has(k)) {
      if (typeof c.value !== 'number') fail(`attributes.${k} must be compared with a number`);
    } else fail(`attribute ${JSON.stringify(c.key)} is not supported`);
  }
}

function compare(a: number | string, op: Op, b: number | string): boolean {
  switch (op) {
    case '=': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
  }
}

export function matchesFilter(run: Run, clauses: Clause[]): boolean {
  return clauses.every((c) => {
    if (c.entity === 'tags' || c.entity === 'params') {
      const v = run[c.entity][c.key];
      return v !== undefined && compare(v, c.op, c.value);
    }
    if (c.entity === 'metrics') {
      const v = run.metrics[c.key];
      return v !== undefined && compare(v, c.op, c.value);
    }
    switch (c.key) {
      case 'status': return compare(run.info.status, c.op, c.value);
      case 'run_name': return compare(run.info.runName, c.op, c.value);
      case 'run_id': return compare(run.info.runId, c.op, c.value);
      case 'start_time': return compare(run.info.startTime, c.op, c.value);
      case 'end_time': return run.info.endTime !== undefined && compare(run.info.endTime, c.op, c.value);
      default: return false;
    }
  });
}
