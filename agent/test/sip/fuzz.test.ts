import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  errorResponseBytes,
  parseMessage,
  type SipParseErrorCode,
  serializeMessage,
} from '../../src/sip/index.js';

const dir = join(import.meta.dirname, '../fixtures/sip');
const corpus = ['valid', 'invalid'].flatMap((kind) =>
  readdirSync(join(dir, kind))
    .filter((f) => f.endsWith('.sip'))
    .map((f) => readFileSync(join(dir, kind, f))),
);

const CODES: ReadonlySet<SipParseErrorCode> = new Set<SipParseErrorCode>([
  'empty',
  'no-header-end',
  'message-too-large',
  'headers-too-large',
  'too-many-headers',
  'control-char',
  'bad-line-ending',
  'bad-start-line',
  'bad-method',
  'bad-request-uri',
  'unsupported-uri-scheme',
  'unsupported-version',
  'bad-status-code',
  'bad-header-line',
  'missing-header',
  'duplicate-header',
  'bad-via',
  'bad-from',
  'bad-to',
  'bad-call-id',
  'bad-cseq',
  'cseq-method-mismatch',
  'bad-max-forwards',
  'bad-content-length',
  'body-too-short',
]);

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
  '99999999999999999999',
  '-1',
  ':',
  '%',
  '[',
  ']',
];

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'dupLine'; at: number }
  | { kind: 'insert'; at: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INSERTS) }),
);

function mutate(input: Buffer, m: Mutation): Buffer {
  if (input.length === 0) return input;
  const at = m.at % input.length;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(input);
      out[at] = m.byte;
      return out;
    }
    case 'truncate':
      return input.subarray(0, at);
    case 'insert':
      return Buffer.concat([input.subarray(0, at), Buffer.from(m.text, 'latin1'), input.subarray(at)]);
    case 'dupLine': {
      const start = input.lastIndexOf('\r\n', at) + 2;
      const end = input.indexOf('\r\n', at);
      if (end < 0 || start >= end) return input;
      return Buffer.concat([
        input.subarray(0, end + 2),
        input.subarray(start, end + 2),
        input.subarray(end + 2),
      ]);
    }
  }
}

const mutatedMessage = fc
  .tuple(fc.constantFrom(...corpus), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([base, ms]) => ms.reduce(mutate, base));

/** The contract: never throws, returns ok or a typed error; ok results round-trip. */
function check(bytes: Buffer): void {
  const r = parseMessage(bytes);
  if (!r.ok) {
    expect(CODES.has(r.error.code)).toBe(true);
    expect(r.error.canRespond).toBe(r.error.partial !== undefined);
    if (r.error.canRespond) {
      const head = errorResponseBytes(r.error, { toTag: 't' })?.toString('latin1') ?? '';
      expect(head.startsWith(`SIP/2.0 ${r.error.status} `)).toBe(true);
    }
    return;
  }
  const again = parseMessage(serializeMessage(r.value));
  expect(again).toEqual(r);
}

describe('parser under hostile input (property-based)', () => {
  it('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (a) => check(Buffer.from(a))),
      { numRuns: 3000 },
    );
  });

  it('random text shaped like SIP never throws', () => {
    const line = fc.string({
      unit: fc.constantFrom(...'abcSIP/2.0 :;,<>"\\@=%[]\r\n\t\0vftimlc1234567890'.split('')),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (ls) =>
        check(Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${ls.join('\r\n')}\r\n\r\n`, 'latin1')),
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated fixtures never throw and ok results round-trip', () => {
    fc.assert(fc.property(mutatedMessage, check), { numRuns: 5000 });
  });

  it('20k hostile parses keep the heap bounded', () => {
    const samples = fc.sample(mutatedMessage, 2000);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20_000; i++) parseMessage(samples[i % samples.length] ?? Buffer.alloc(0));
    const grown = process.memoryUsage().heapUsed - before;
    // Generous: nothing is retained between parses, garbage aside.
    expect(grown).toBeLessThan(200 * 1024 * 1024);
  });

  it('64 KB inputs parse quickly (generous bound, no flaky timing)', () => {
    const big = [
      Buffer.concat([
        Buffer.from('INVITE sip:a@b SIP/2.0\r\nX: '),
        Buffer.alloc(64 * 1024, 'a'),
        Buffer.from('\r\n\r\n'),
      ]),
      Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${'Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n'.repeat(1700)}\r\n`),
      Buffer.alloc(64 * 1024, '\r'),
      Buffer.alloc(64 * 1024, ','),
    ];
    for (const input of big) {
      const limits = { maxHeaderBytes: 70_000, maxMessageBytes: 70_000, maxHeaders: 5000 };
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) {
        parseMessage(input);
        parseMessage(input, limits);
      }
      expect((performance.now() - t0) / 10).toBeLessThan(50);
    }
  });
});
