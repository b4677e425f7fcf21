import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fastPaths } from '../../src/sip/fast-path.js';
import { errorResponseBytes, parseMessage, serializeMessage } from '../../src/sip/index.js';
import { loadTorture, TORTURE_DIR } from './torture-fixtures.js';

const messages = loadTorture();

/** RFC 4475 Appendix A, decoded the RFC's way (Figure 58): one-word lines between the markers. */
function rfc4475Archive(): Map<string, Buffer> {
  const text = readFileSync(join(TORTURE_DIR, 'rfc4475.txt'), 'latin1');
  let inside = false;
  let b64 = '';
  for (const line of text.split('\n')) {
    if (line.includes('-- BEGIN MESSAGE ARCHIVE --')) inside = true;
    if (inside && /^\s*\S+\s*$/.test(line)) b64 += line.trim();
    if (line.includes('-- END MESSAGE ARCHIVE --')) inside = false;
  }
  const tar = gunzipSync(Buffer.from(b64, 'base64'));
  const files = new Map<string, Buffer>();
  // ustar: 512-byte header (name at 0, octal size at 124), data padded to 512.
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0; ) {
    const name = tar.toString('latin1', at, at + 100).replace(/\0.*$/s, '');
    const size = Number.parseInt(
      tar
        .toString('latin1', at + 124, at + 136)
        .replace(/\0.*$/s, '')
        .trim(),
      8,
    );
    files.set(name, tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe('RFC 4475 / RFC 5118 fixtures', () => {
  it('are all there: 49 RFC 4475 messages and 12 RFC 5118 messages', () => {
    expect(messages.filter((m) => m.expected.rfc === 4475)).toHaveLength(49);
    expect(messages.filter((m) => m.expected.rfc === 5118)).toHaveLength(12);
  });

  it('RFC 4475 fixtures are byte-exact copies of the RFC’s Appendix A archive', () => {
    const archive = rfc4475Archive();
    for (const m of messages.filter((x) => x.expected.rfc === 4475)) {
      expect(archive.get(`${m.name}.dat`)?.equals(m.bytes) === true, m.name).toBe(true);
    }
  });
});

describe.each([true, false])('parser on RFC 4475 / RFC 5118 messages (fast paths %s)', (fast) => {
  it.each(messages.map((m) => [m.id, m] as const))('%s', (_id, m) => {
    const was = fastPaths.enabled;
    fastPaths.enabled = fast;
    try {
      const r = parseMessage(m.bytes);
      const want = m.expected.parse;
      if (want.ok) {
        expect(r.ok ? 'ok' : `${r.error.code}`).toBe('ok');
        if (r.ok) {
          // Unedited messages serialize to their exact input bytes (up to Content-Length).
          expect(
            serializeMessage(r.value).equals(m.bytes.subarray(0, serializeMessage(r.value).length)),
          ).toBe(true);
        }
        return;
      }
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(want.codes).toContain(r.error.code);
      expect(r.error.canRespond).toBe(want.canRespond);
      if (want.canRespond) {
        const bytes = errorResponseBytes(r.error, { toTag: 't1' });
        const statusLine = /^SIP\/2\.0 (\d{3}) ([^\r]*)\r\n/.exec(bytes?.toString('latin1') ?? '');
        expect(statusLine).not.toBeNull();
        const udp = m.expected.udp;
        if (udp.class === 'status') {
          expect(udp.status).toContain(Number(statusLine?.[1]));
          if (udp.reason !== undefined) expect(statusLine?.[2]).toContain(udp.reason);
        }
      }
    } finally {
      fastPaths.enabled = was;
    }
  });
});

describe('fast paths on RFC 4475 / RFC 5118 messages', () => {
  it('give the same result as the general parser for every message', () => {
    const was = fastPaths.enabled;
    try {
      for (const m of messages) {
        fastPaths.enabled = true;
        const fast = parseMessage(m.bytes);
        fastPaths.enabled = false;
        const slow = parseMessage(m.bytes);
        expect(fast, m.id).toEqual(slow);
      }
    } finally {
      fastPaths.enabled = was;
    }
  });
});
