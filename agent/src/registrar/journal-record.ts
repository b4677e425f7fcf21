import type { Binding, Flow, FlowTransport } from './binding.js';

/**
 * One journal line: a whole change set (the upserts and removals of one REGISTER, or one sweep),
 * so a torn write loses a request entirely instead of half of it. Expiry is absolute (ms), so a
 * binding reloaded after a restart keeps exactly its remaining lifetime.
 */
export interface JournalChange {
  readonly upserts: readonly Binding[];
  readonly removals: ReadonlyArray<{ readonly aor: string; readonly key: string }>;
}

/** Compact wire form of a binding (short keys: the journal is rewritten at every compaction). */
interface BindingRecord {
  a: string;
  k: string;
  c: string;
  q?: number;
  e: number;
  i: string;
  s: number;
  n?: string;
  r?: number;
  f: [FlowTransport, string, number, number?];
  g: number;
  /** User-Agent. */
  u?: string;
}

const TRANSPORTS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws']);
const MAX_STRING = 2048;

function toRecord(b: Binding): BindingRecord {
  const f: BindingRecord['f'] =
    b.flow.connectionId === undefined
      ? [b.flow.transport, b.flow.address, b.flow.port]
      : [b.flow.transport, b.flow.address, b.flow.port, b.flow.connectionId];
  const rec: BindingRecord = {
    a: b.aor,
    k: b.key,
    c: b.contact,
    e: b.expiresAt,
    i: b.callId,
    s: b.cseq,
    f,
    g: b.registeredAt,
  };
  if (b.q !== undefined) rec.q = b.q;
  if (b.instanceId !== undefined) rec.n = b.instanceId;
  if (b.regId !== undefined) rec.r = b.regId;
  if (b.userAgent !== undefined) rec.u = b.userAgent;
  return rec;
}

/** Serialises a change set as one JSON line (with the trailing newline). */
export function encodeChange(change: JournalChange): string {
  return `${JSON.stringify({ u: change.upserts.map(toRecord), r: change.removals.map((x) => [x.aor, x.key]) })}\n`;
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_STRING;
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function fromRecord(v: unknown): Binding | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (!isStr(r['a']) || !isStr(r['k']) || !isStr(r['c']) || !isStr(r['i'])) return undefined;
  if (!isInt(r['e'], 0, Number.MAX_SAFE_INTEGER) || !isInt(r['g'], 0, Number.MAX_SAFE_INTEGER))
    return undefined;
  if (!isInt(r['s'], 0, 2 ** 32)) return undefined;
  if (r['q'] !== undefined && !isInt(r['q'], 0, 1000)) return undefined;
  if (r['n'] !== undefined && !isStr(r['n'])) return undefined;
  if (r['r'] !== undefined && !isInt(r['r'], 1, 2 ** 31)) return undefined;
  if (r['u'] !== undefined && !isStr(r['u'])) return undefined;
  const f = r['f'];
  if (!Array.isArray(f) || f.length < 3 || f.length > 4) return undefined;
  const [transport, address, port, connectionId] = f as unknown[];
  if (
    typeof transport !== 'string' ||
    !TRANSPORTS.has(transport) ||
    !isStr(address) ||
    !isInt(port, 0, 65535)
  ) {
    return undefined;
  }
  if (connectionId !== undefined && !isInt(connectionId, 0, Number.MAX_SAFE_INTEGER)) return undefined;
  const flow: Flow = {
    transport: transport as FlowTransport,
    address,
    port,
    ...(connectionId === undefined ? {} : { connectionId }),
  };
  return {
    aor: r['a'],
    key: r['k'],
    contact: r['c'],
    q: r['q'] as number | undefined,
    expiresAt: r['e'],
    callId: r['i'],
    cseq: r['s'],
    instanceId: r['n'] as string | undefined,
    regId: r['r'] as number | undefined,
    flow,
    registeredAt: r['g'],
    userAgent: r['u'] as string | undefined,
  };
}

/** Parses one journal line; `undefined` for anything that is not a well-formed change set. Never throws. */
export function decodeChange(line: string): JournalChange | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { u, r } = v as { u?: unknown; r?: unknown };
  if (!Array.isArray(u) || !Array.isArray(r)) return undefined;
  const upserts: Binding[] = [];
  for (const x of u) {
    const b = fromRecord(x);
    if (b === undefined) return undefined;
    upserts.push(b);
  }
  const removals: Array<{ aor: string; key: string }> = [];
  for (const x of r) {
    if (!Array.isArray(x) || x.length !== 2 || !isStr(x[0]) || !isStr(x[1])) return undefined;
    removals.push({ aor: x[0], key: x[1] });
  }
  return { upserts, removals };
}

export interface ReplayStats {
  /** Complete lines read. */
  readonly lines: number;
  /** Lines that did not decode (skipped). */
  readonly corrupt: number;
  /** Whether the file ended in an incomplete line (a write cut by a crash), which was ignored. */
  readonly tornTail: boolean;
}

/**
 * Replays a journal's bytes into the live bindings, in order. A final line without its newline
 * is a torn write and is ignored; a corrupt line elsewhere is skipped (the rest still counts).
 * Bindings already expired at `now` are dropped. Never throws.
 */
export function replayJournal(
  bytes: Buffer,
  now: number,
): { readonly bindings: Map<string, Map<string, Binding>>; readonly stats: ReplayStats } {
  const byAor = new Map<string, Map<string, Binding>>();
  let lines = 0;
  let corrupt = 0;
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) break;
    const line = bytes.toString('utf8', start, nl);
    start = nl + 1;
    if (line.length === 0) continue;
    lines++;
    const change = decodeChange(line);
    if (change === undefined) {
      corrupt++;
      continue;
    }
    for (const rm of change.removals) byAor.get(rm.aor)?.delete(rm.key);
    for (const b of change.upserts) {
      let m = byAor.get(b.aor);
      if (m === undefined) {
        m = new Map();
        byAor.set(b.aor, m);
      }
      m.delete(b.key);
      m.set(b.key, b);
    }
  }
  for (const [aor, m] of byAor) {
    for (const [key, b] of m) if (b.expiresAt <= now) m.delete(key);
    if (m.size === 0) byAor.delete(aor);
  }
  return { bindings: byAor, stats: { lines, corrupt, tornTail: start < bytes.length } };
}
