/**
 * The flat YAML maps of MLflow's file store (meta.yaml): one `key: scalar` per line, with `tags: []`.
 * Writing quotes every string as a JSON string (valid YAML) so names with ':' or quotes survive; reading
 * accepts what PyYAML writes: plain, 'single' (with '' escapes) and "double" scalars, continued on
 * indented lines when long, null and integers.
 */
export type YamlScalar = string | number | null | never[];

function quote(s: string): string {
  return JSON.stringify(s);
}

export function writeFlatYaml(obj: Record<string, YamlScalar | undefined>): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v === null) lines.push(`${k}: null`);
    else if (Array.isArray(v)) lines.push(`${k}: []`);
    else if (typeof v === 'number') lines.push(`${k}: ${v}`);
    else lines.push(`${k}: ${quote(v)}`);
  }
  return lines.join('\n') + '\n';
}

function parseScalar(raw: string, file: string): YamlScalar {
  const s = raw.trim();
  if (s === '' || s === 'null' || s === '~') return null;
  if (s === '[]') return [];
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`${file}: unterminated quoted value ${s}`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('"')) {
    try {
      return JSON.parse(s) as string;
    } catch {
      throw new Error(`${file}: cannot read double-quoted value ${s}`);
    }
  }
  if (/^-?\d+$/.test(s)) return Number(s);
  return s;
}

export function readFlatYaml(text: string, file: string): Record<string, YamlScalar> {
  const out: Record<string, YamlScalar> = {};
  let key: string | undefined;
  let buf = '';
  const finish = (): void => {
    if (key !== undefined) out[key] = parseScalar(buf, file);
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (/^\s/.test(line) && key !== undefined) {
      // PyYAML folds long scalars onto indented continuation lines, joined by one space
      buf += ' ' + line.trim();
      continue;
    }
    const m = /^([A-Za-z_][\w]*):(?:\s(.*))?$/.exec(line);
    if (!m) throw new Error(`${file}: cannot read line ${JSON.stringify(line)} (expected "key: value")`);
    finish();
    key = m[1] as string;
    buf = m[2] ?? '';
  }
  finish();
  return out;
}
