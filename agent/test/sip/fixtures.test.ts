import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import {
  createErrorResponse,
  errorResponseBytes,
  getContacts,
  getExpires,
  getHeaders,
  getRecordRoutes,
  getRoutes,
  type NameAddr,
  type ParseOptions,
  parseMessage,
  type SipMessage,
  serializeMessage,
} from '../../src/sip/index.js';

const dir = join(import.meta.dirname, '../fixtures/sip');
const load = (kind: string) =>
  readdirSync(join(dir, kind))
    .filter((f) => f.endsWith('.sip'))
    .map((f) => {
      const name = f.slice(0, -4);
      return {
        name,
        bytes: readFileSync(join(dir, kind, f)),
        expected: JSON.parse(readFileSync(join(dir, kind, `${name}.expected.json`), 'utf8')),
      };
    });

function nameAddr(na: NameAddr) {
  const uri = na.uri;
  return {
    displayName: na.displayName,
    tag: na.tag,
    user: uri.kind === 'sip' ? uri.user : undefined,
    uri: { ...uri },
  };
}

const count = (r: Result<readonly unknown[], unknown>) => (r.ok ? r.value.length : -1);

/** Every key a golden file may mention. */
function project(m: SipMessage): Record<string, unknown> {
  const contacts = getContacts(m);
  const p: Record<string, unknown> = {
    kind: m.kind,
    callId: m.callId,
    cseq: m.cseq,
    maxForwards: m.maxForwards ?? null,
    contentLength: m.contentLength,
    bodyLength: m.body.length,
    viaCount: m.via.length,
    via: m.via.map((v) => ({ ...v })),
    from: nameAddr(m.from),
    to: nameAddr(m.to),
    contacts: contacts.ok && !contacts.value.star ? contacts.value.contacts.length : -1,
    contactStar: contacts.ok && contacts.value.star,
    routes: count(getRoutes(m)),
    recordRoutes: count(getRecordRoutes(m)),
    expires: (() => {
      const e = getExpires(m);
      return e.ok ? e.value : 'bad';
    })(),
    supportedValues: getHeaders(m, 'k').length,
    authValues: getHeaders(m, 'Authorization').length,
    acceptCount: getHeaders(m, 'accept').length,
    dateValues: getHeaders(m, 'date').length,
    unknownHeader: m.headers.find((h) => h.key === 'c%6fntact')?.name,
  };
  if (m.kind === 'request') {
    p.method = m.method;
    p.requestUri = m.requestUri.raw;
    p.requestUriKind = m.requestUri.kind;
    p.requestUser = m.requestUri.kind === 'sip' ? m.requestUri.user : undefined;
    p.requestHost = m.requestUri.kind === 'sip' ? m.requestUri.host : undefined;
  } else {
    p.status = m.status;
    p.reason = m.reason;
  }
  return p;
}

function normalise(expected: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...expected };
  delete out.extraDiscarded;
  for (const k of ['from', 'to']) {
    const v = out[k] as { uri?: unknown } | undefined;
    if (v && typeof v.uri === 'string') out[k] = { ...v, uri: { raw: v.uri } };
  }
  return out;
}

describe('valid fixtures (RFC 4475 §3.1.1 style)', () => {
  for (const f of load('valid')) {
    it(`${f.name}: parses to the golden fields`, () => {
      const r = parseMessage(f.bytes);
      if (!r.ok) expect.fail(`${f.name}: ${r.error.code}`);
      expect(project(r.value)).toMatchObject(normalise(f.expected));
    });

    it(`${f.name}: serializes byte for byte and round-trips`, () => {
      const r = parseMessage(f.bytes);
      if (!r.ok) return expect.fail(r.error.code);
      const out = serializeMessage(r.value);
      if (f.expected.extraDiscarded) expect(f.bytes.subarray(0, out.length).equals(out)).toBe(true);
      else expect(out.equals(f.bytes)).toBe(true);
      const again = parseMessage(out);
      expect(again).toEqual(r);
    });
  }
});

describe('invalid fixtures (RFC 4475 §3.1.2, §3.3 style)', () => {
  for (const f of load('invalid')) {
    it(`${f.name}: ${f.expected.code} (${f.expected.status})`, () => {
      const r = parseMessage(f.bytes, f.expected.options as ParseOptions | undefined);
      if (r.ok) return expect.fail(`${f.name} parsed`);
      expect({ code: r.error.code, status: r.error.status, canRespond: r.error.canRespond }).toEqual({
        code: f.expected.code,
        status: f.expected.status,
        canRespond: f.expected.canRespond,
      });
      if (f.expected.header !== undefined) expect(r.error.header).toBe(f.expected.header);
      const bytes = errorResponseBytes(r.error, { toTag: 'err1' });
      if (!r.error.canRespond) return expect(bytes).toBeUndefined();
      const text = bytes?.toString('latin1') ?? '';
      expect(text.startsWith(`SIP/2.0 ${f.expected.status} `)).toBe(true);
      expect(text).toMatch(/\r\nVia:/i);
      // Copied fields that were well-formed give a response that parses, To tag added.
      const response = createErrorResponse(r.error, { toTag: 'err1' });
      if (response !== undefined) {
        expect(response.status).toBe(f.expected.status);
        expect(response.to.tag).toBeDefined();
      }
    });
  }
});
