/**
 * createResponse assembles the response from the request's parsed parts instead of parsing
 * the bytes it wrote (the fast path). It must give exactly what parsing those bytes gives:
 * every fixture request is answered in many ways, both ways, and the results compared.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fastPaths } from '../../src/sip/fast-path.js';
import {
  type CreateResponseOptions,
  createResponse,
  getContacts,
  parseMessage,
  type SipRequest,
  serializeMessage,
  setTopViaParams,
} from '../../src/sip/index.js';

const dir = join(import.meta.dirname, '../fixtures/sip/valid');
const requests: SipRequest[] = readdirSync(dir)
  .filter((f) => f.endsWith('.sip'))
  .flatMap((f) => {
    const r = parseMessage(readFileSync(join(dir, f)));
    return r.ok && r.value.kind === 'request' ? [r.value] : [];
  });

afterEach(() => {
  fastPaths.enabled = true;
});

function bothWays(req: SipRequest, status: number, reason: string | undefined, opts: CreateResponseOptions) {
  fastPaths.enabled = true;
  let fast: unknown;
  try {
    fast = createResponse(req, status, reason, opts);
  } catch (e) {
    fast = String(e);
  }
  fastPaths.enabled = false;
  let slow: unknown;
  try {
    slow = createResponse(req, status, reason, opts);
  } catch (e) {
    slow = String(e);
  } finally {
    fastPaths.enabled = true;
  }
  return { fast, slow };
}

const answers: Array<[number, string | undefined, CreateResponseOptions]> = [
  [200, undefined, {}],
  [100, 'Trying', { toTag: 'never-on-100' }],
  [180, 'Ringing', { toTag: 'abc123' }],
  [
    200,
    'OK',
    {
      toTag: 'x.y-z',
      headers: [
        ['Contact', '<sip:a@192.0.2.1>;expires=60'],
        ['Expires', '60'],
      ],
    },
  ],
  [401, 'Unauthorized', { headers: [['WWW-Authenticate', 'Digest realm="a", nonce="n", qop="auth"']] }],
  [423, 'Interval Too Brief', { toTag: 't', headers: [['Min-Expires', '60']] }],
  [200, 'OK', { toTag: 't2', body: { bytes: Buffer.from('v=0\r\n'), contentType: 'application/sdp' } }],
  [
    503,
    'Service Unavailable',
    {
      headers: [
        ['Retry-After', '5'],
        ['v', 'SIP/2.0/UDP 10.0.0.1'],
      ],
    },
  ],
  [500, ' padded ', { toTag: 'tag with space' }],
  [
    404,
    'Not Found',
    {
      toTag: 'ok',
      headers: [
        ['X-Tab', 'a\tb'],
        ['Max-Forwards', '3'],
      ],
    },
  ],
];

describe('createResponse: assembled = parsed', () => {
  it(`answers all ${requests.length} fixture requests identically both ways`, () => {
    expect(requests.length).toBeGreaterThan(10);
    let assembled = 0;
    for (const req of requests) {
      for (const [status, reason, opts] of answers) {
        const { fast, slow } = bothWays(req, status, reason, opts);
        expect(fast).toEqual(slow);
        if (typeof fast === 'object' && fast !== null) {
          const res = fast as ReturnType<typeof createResponse>;
          expect(serializeMessage(res).equals(res.wire!)).toBe(true);
          const reparsed = parseMessage(res.wire!);
          expect(reparsed.ok && reparsed.value).toEqual(res);
          expect(getContacts(res)).toEqual(getContacts(reparsed.ok ? reparsed.value : res));
          assembled++;
        }
      }
    }
    expect(assembled).toBeGreaterThan(requests.length * 8);
  });

  it('answers a request whose top Via was stamped (received/rport) with that Via', () => {
    const req = requests.find((r) => r.method === 'REGISTER')!;
    const stamped = setTopViaParams(req, { received: '203.0.113.5', rport: 40_000 });
    const { fast, slow } = bothWays(stamped, 200, 'OK', { toTag: 'q' });
    expect(fast).toEqual(slow);
    expect((fast as { wire: Buffer }).wire.toString('latin1')).toContain('received=203.0.113.5');
  });

  it('random tags, header values and reasons: same both ways', () => {
    const printable = fc.string({ unit: fc.constantFrom(...'aZ09-._~!%*+`\' \t;=,"<>:@'.split('')) });
    fc.assert(
      fc.property(
        fc.constantFrom(...requests),
        fc.integer({ min: 100, max: 699 }),
        printable,
        printable,
        printable,
        (req, status, tag, value, reason) => {
          const { fast, slow } = bothWays(req, status, reason, {
            toTag: tag,
            headers: [['X-Value', value]],
          });
          expect(fast).toEqual(slow);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
