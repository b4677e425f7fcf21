/**
 * MIME multipart bodies (RFC 2046 §5.1, as SIP carries them: RFC 3261 §7.4, RFC 5621): split into
 * parts with their own header fields, and joined again byte for byte around a replaced part.
 * Pure; never throws on input (a body that does not parse gives an error value).
 */
import { err, ok, type Result } from '@sipwall/shared';

export interface BodyPart {
  /** The part's header fields as written (name, value), in order. */
  readonly headers: readonly (readonly [string, string])[];
  /** `type/subtype` in lower case, parameters dropped; `text/plain` when absent (RFC 2046 §5.1). */
  readonly contentType: string;
  /** The part's full Content-Type value (with parameters), or undefined when absent. */
  readonly contentTypeValue: string | undefined;
  readonly body: Buffer;
}

export interface Multipart {
  readonly boundary: string;
  /** Bytes before the first delimiter (ignored by receivers, kept for re-serialising). */
  readonly preamble: Buffer;
  readonly parts: readonly BodyPart[];
}

/** Media type (`type/subtype`, lower case, no parameters) of a Content-Type value. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The `boundary` parameter of a multipart Content-Type (quoted or not), if any. */
export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** At most this many parts (a body with more is refused, not walked). */
const MAX_PARTS = 32;

/** Splits a multipart body (RFC 2046 §5.1.1). */
export function parseMultipart(body: Buffer, boundary: string): Result<Multipart, string> {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  let at = text.startsWith(delimiter) ? 0 : text.indexOf(`\r\n${delimiter}`);
  if (at < 0) return err(`no delimiter for boundary ${JSON.stringify(boundary)}`);
  const preamble = body.subarray(0, at);
  if (at > 0) at += 2;
  const parts: BodyPart[] = [];
  for (;;) {
    const after = at + delimiter.length;
    if (text.startsWith('--', after)) return ok({ boundary, preamble, parts });
    const lineEnd = text.indexOf('\r\n', after);
    if (lineEnd < 0) return err('delimiter line without CRLF');
    const start = lineEnd + 2;
    const next = text.indexOf(`\r\n${delimiter}`, start - 2);
    if (next < 0) return err('part without a closing delimiter');
    const part = parsePart(body, text, start, Math.max(start, next));
    if (!part.ok) return part;
    parts.push(part.value);
    if (parts.length > MAX_PARTS) return err(`more than ${MAX_PARTS} parts`);
    at = next + 2;
  }
}

function parsePart(body: Buffer, text: string, start: number, end: number): Result<BodyPart, string> {
  const headEnd = text.startsWith('\r\n', start) ? start : text.indexOf('\r\n\r\n', start);
  if (headEnd < 0 || headEnd > end) return err('part without a header/body separator');
  const headers: [string, string][] = [];
  for (const line of text.slice(start, headEnd).split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return err(`bad part header ${JSON.stringify(line.slice(0, 40))}`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const bodyStart = headEnd === start ? start + 2 : headEnd + 4;
  const contentTypeValue = headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1];
  return ok({
    headers,
    contentType: contentTypeValue === undefined ? 'text/plain' : mediaType(contentTypeValue),
    contentTypeValue,
    body: body.subarray(Math.min(bodyStart, end), end),
  });
}

/** The multipart body again, with `replace` giving new bytes for some parts (by index). */
export function serializeMultipart(m: Multipart, replace: ReadonlyMap<number, Buffer> = new Map()): Buffer {
  const chunks: Buffer[] = [m.preamble];
  const crlf = Buffer.from('\r\n', 'latin1');
  m.parts.forEach((p, i) => {
    if (i > 0 || m.preamble.length > 0) chunks.push(crlf);
    const head = [`--${m.boundary}`, ...p.headers.map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n');
    chunks.push(Buffer.from(head, 'latin1'), replace.get(i) ?? p.body);
  });
  chunks.push(Buffer.from(`\r\n--${m.boundary}--\r\n`, 'latin1'));
  return Buffer.concat(chunks);
}
