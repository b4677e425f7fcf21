/**
 * The fast paths (fast-path.ts) must give exactly what the general parsers give: every
 * fixture, the benchmark messages and thousands of mutations are parsed with the fast
 * paths on and off, and the results (errors included) and lazy accessors compared.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fastPaths } from '../../src/sip/fast-path.js';
import {
  getContacts,
  getExpires,
  getHeaders,
  getPaths,
  getRecordRoutes,
  getRoutes,
  parseMessage,
  parseNameAddr,
  parseUri,
  prependVia,
  removeTopVia,
  type SipMessage,
  serializeMessage,
  setTopViaParams,
} from '../../src/sip/index.js';
import { splitTopLevel } from '../../src/sip/scan.js';
import { parseViaList } from '../../src/sip/via.js';

const dir = join(import.meta.dirname, '../fixtures/sip');
// The benchmark's messages, loaded by path (the bench workspace is outside agent's rootDir).
const benchMessages = join(import.meta.dirname, '../../../bench/sip-parse/messages.ts');
const bench = (await import(benchMessages)) as Record<'invite' | 'register' | 'ok200', Buffer>;
const corpus = [
  bench.invite,
  bench.register,
  bench.ok200,
  ...['valid', 'invalid'].flatMap((kind) =>
    readdirSync(join(dir, kind))
      .filter((f) => f.endsWith('.sip'))
      .map((f) => readFileSync(join(dir, kind, f))),
  ),
];

function both<T>(fn: () => T): [T, T] {
  fastPaths.enabled = true;
  const fast = fn();
  fastPaths.enabled = false;
  try {
    return [fast, fn()];
  } finally {
    fastPaths.enabled = true;
  }
}

afterEach(() => {
  fastPaths.enabled = true;
});

/** Everything a reader can get out of a message. */
function view(bytes: Buffer) {
  const r = parseMessage(bytes);
  if (!r.ok) return r;
  const m: SipMessage = r.value;
  const keys = [...new Set(m.headers.map((h) => h.key))];
  let forwarded: unknown;
  try {
    const edited = prependVia(
      m.via.length > 0 ? setTopViaParams(m, { received: '192.0.2.9', rport: 5099 }) : m,
      'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-x',
    );
    const removed = removeTopVia(removeTopVia(edited));
    forwarded = [serializeMessage(edited), edited, serializeMessage(removed), removed];
  } catch (e) {
    forwarded = String(e);
  }
  return {
    r,
    headers: keys.map((k) => getHeaders(m, k)),
    contacts: getContacts(m),
    routes: getRoutes(m),
    recordRoutes: getRecordRoutes(m),
    paths: getPaths(m),
    expires: getExpires(m),
    forwarded,
  };
}

const INSERTS = [
  '\r',
  '\n',
  '\0',
  '\r\n',
  '\r\n ',
  ',',
  ';',
  '"',
  '<',
  '>',
  ':',
  '%',
  '[',
  ']',
  ' ',
  '\t',
  '-',
  '.',
  '@',
  '=',
  '?',
  'A',
  '9',
  '\\',
];
const mutation = fc.record({
  at: fc.nat(),
  text: fc.oneof(
    fc.constantFrom(...INSERTS),
    fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)),
  ),
  replace: fc.boolean(),
});
const mutated = fc
  .tuple(fc.constantFrom(...corpus), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([base, ms]) =>
    ms.reduce((buf, m) => {
      const at = m.at % Math.max(1, buf.length);
      const ins = Buffer.from(m.text, 'latin1');
      return Buffer.concat([buf.subarray(0, at), ins, buf.subarray(at + (m.replace ? 1 : 0))]);
    }, base),
  );

describe('fast paths agree with the general parsers', () => {
  it('on every fixture and benchmark message', () => {
    for (const bytes of corpus) {
      const [fast, general] = both(() => view(bytes));
      expect(fast).toEqual(general);
    }
  });

  it('on mutated fixtures', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        const [fast, general] = both(() => view(bytes));
        expect(fast).toEqual(general);
      }),
      { numRuns: 2500 },
    );
  }, 60_000);

  const piece = fc.constantFrom(
    ...'sip:',
    'sips:',
    'SIP/2.0/',
    'UDP ',
    'tcp ',
    'alice',
    '@',
    'a.b',
    'Example.COM',
    '-',
    '_',
    '.',
    '..',
    '1',
    '255',
    '256',
    '0.0.0.0',
    '1.2.3.4',
    '1.2.3',
    '1234',
    ':',
    ':5060',
    ':65536',
    ':050600',
    ';',
    ';lr',
    ';tag=x',
    ';Tag=Y',
    ';branch=z9',
    ';BRANCH=a;branch=b',
    ';rport',
    ';rport=99999',
    ';received=1.2.3.4',
    '=',
    '"',
    '"A B"',
    '"a\\"b"',
    '<',
    '>',
    ',',
    ', ',
    ' ',
    '\t',
    '?',
    '%41',
    '[::1]',
    'Bob ',
    'x=a=b',
  );
  const text = fc.array(piece, { maxLength: 12 }).map((a) => a.join(''));

  it('on URI, Via and name-addr fragments', () => {
    fc.assert(
      fc.property(text, (s) => {
        for (const f of [parseUri, parseViaList, parseNameAddr]) {
          const [fast, general] = both(() => f(s));
          expect(fast).toEqual(general);
        }
      }),
      { numRuns: 10000 },
    );
  }, 60_000);

  // Shapes close to the fast paths' grammar, so most samples take them (or just miss them).
  const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
  const host = pick(
    'a.b',
    'Example.COM',
    'x-y.z.',
    '1.2.3.4',
    '1.2.3.256',
    '1.2.3',
    '-a.b',
    'a-.b',
    'a..b',
    '_s.x',
    '[::1]',
    '',
    'a b',
  );
  const port = pick('', ':5060', ':0', ':65535', ':65536', ':', ':1a');
  const params = fc
    .array(
      pick(
        ';lr',
        ';tag=1',
        ';Tag=2',
        ';branch=z9',
        ';rport',
        ';rport=5',
        ';rport=x',
        ';received=1.2.3.4',
        ';a="q;,>"',
        ';a="x',
        ';=1',
        ';a=',
        ';;',
        ';a=b=c',
        '; a=b',
        ';a=<b>',
        ';t=%41',
      ),
      { maxLength: 4 },
    )
    .map((a) => a.join(''));
  const user = pick('', 'alice@', 'al%41@', 'a:pw@', '@', 'a,b@', 'a;b@');
  const uri = fc
    .tuple(pick('sip:', 'sips:', 'SIP:', 'tel:'), user, host, port, params, pick('', '?x=y', '>'))
    .map((a) => a.join(''));
  const display = pick('', '"Alice" ', '"A\\"B" ', 'Bob ', 'Bob  Smith ', 'B,ob ', ' ', '"x"');
  const nameAddr = fc
    .tuple(display, pick('<', ''), uri, pick('>', ''), params, pick('', ' ', ' ;x'))
    .map((a) => a.join(''));
  const via = fc
    .tuple(
      pick('SIP/2.0/', 'sip/2.0/', 'SIP / 2.0 /'),
      pick('UDP', 'TCP', 'tls', 'WS', 'SCTP', 'X-Y', ''),
      pick(' ', '  ', '\t', ''),
      host,
      port,
      params,
    )
    .map((a) => a.join(''));

  it('on near-grammar URIs, name-addrs and Via lists', () => {
    fc.assert(
      fc.property(
        uri,
        nameAddr,
        fc.array(via, { minLength: 1, maxLength: 3 }),
        pick(',', ', ', ' ,'),
        (u, na, vias, sep) => {
          for (const [f, s] of [
            [parseUri, u],
            [parseNameAddr, na],
            [parseViaList, vias.join(sep)],
            [(x: string) => getContacts(parseContact(x)), `${na}, ${na}`],
          ] as const) {
            const [fast, general] = both(() => (f as (x: string) => unknown)(s));
            expect(fast).toEqual(general);
          }
        },
      ),
      { numRuns: 20000 },
    );
  }, 60_000);

  // The routing scanners read Via/From/To values in place in the header text: a value must
  // end where its line does, whatever the next line holds (quotes, `>`, `@`, `;`…).
  it('on whole messages with near-grammar Via/From/To values in place', () => {
    const next = pick('X: "q"', 'X: >', 'X: @h', 'X: ;a=b', 'X: ,SIP/2.0/UDP h', 'X: "', 'X:  ');
    fc.assert(
      fc.property(
        fc.array(via, { minLength: 1, maxLength: 2 }),
        nameAddr,
        nameAddr,
        next,
        pick('', ' ', '\t'),
        (vias, from, to, after, trail) => {
          const bytes = Buffer.from(
            [
              'OPTIONS sip:a.b SIP/2.0',
              `Via: ${vias.join(', ')}${trail}`,
              after,
              `From: ${from}${trail}`,
              after,
              `To: ${to}`,
              after,
              'Call-ID: c1',
              'CSeq: 1 OPTIONS',
              '',
              '',
            ].join('\r\n'),
            'latin1',
          );
          const [fast, general] = both(() => view(bytes));
          expect(fast).toEqual(general);
        },
      ),
      { numRuns: 5000 },
    );
  }, 60_000);
});

describe('word-at-a-time octet check (octets.ts)', () => {
  it('agrees with the general scan at every alignment and for every control octet position', () => {
    const base = bench.register;
    const bad = [0x00, 0x01, 0x08, 0x0a, 0x0b, 0x0d, 0x1f, 0x7f, 0x09, 0x20, 0x80, 0xff];
    for (let offset = 0; offset < 8; offset++) {
      for (let at = 0; at < base.length; at += 7) {
        for (const b of bad) {
          // The message inside a larger ArrayBuffer at `offset`, so words start at every alignment.
          const store = Buffer.alloc(base.length + 16);
          const bytes = store.subarray(offset, offset + base.length);
          base.copy(bytes);
          bytes[at] = b;
          const [fast, general] = both(() => parseMessage(bytes));
          expect(fast).toEqual(general);
        }
      }
    }
    // ~9,000 parse pairs with deep comparison: seconds on a loaded CI box, not a hang.
  }, 60_000);
});

describe('getHeaders list splitting', () => {
  it('matches splitTopLevel (§7.3.1 commas outside quotes and <>), empty elements dropped', () => {
    const unit = fc.constantFrom(...'ab ,\t"<>\\;='.split(''));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), (v) => {
        const m = parseContact('<sip:a@b>', `Allow: ${v}`);
        const value = m.headers.find((h) => h.key === 'allow')?.value ?? '';
        const parts = splitTopLevel(value, 0x2c);
        const expected = parts === undefined ? [value] : parts.filter((p) => p.length > 0);
        expect(getHeaders(m, 'allow')).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });
});

function parseContact(value: string, extra = 'X: y'): SipMessage {
  const r = parseMessage(
    Buffer.from(
      `OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContact: ${value}\r\n${extra}\r\n\r\n`,
      'latin1',
    ),
  );
  if (!r.ok) throw new Error(r.error.code);
  return r.value;
}
