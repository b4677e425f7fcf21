/** A strict reader of Prometheus text format 0.0.4: every sample has a HELP and a TYPE before it. */
export function parsePrometheus(text: string): Map<string, { type: string; value: number }> {
  const out = new Map<string, { type: string; value: number }>();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  if (!text.endsWith('\n')) throw new Error('text format must end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (m) {
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    if (!helps.has(name) || !types.has(name)) throw new Error(`sample before HELP/TYPE: ${name}`);
    if (types.get(name) === 'counter' && !name.endsWith('_total'))
      throw new Error(`counter without _total: ${name}`);
    out.set(name + (m[2] ?? ''), { type: types.get(name)!, value: Number(m[3]) });
  }
  return out;
}
