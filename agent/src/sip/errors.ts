import type { HeaderField } from './message.js';

/** Closed set of parse failure codes. Tests assert on these, never on `reason` text. */
export type SipParseErrorCode =
  | 'empty'
  | 'no-header-end'
  | 'message-too-large'
  | 'headers-too-large'
  | 'too-many-headers'
  | 'control-char'
  | 'bad-line-ending'
  | 'bad-start-line'
  | 'bad-method'
  | 'bad-request-uri'
  | 'unsupported-uri-scheme'
  | 'unsupported-version'
  | 'bad-status-code'
  | 'bad-header-line'
  | 'missing-header'
  | 'duplicate-header'
  | 'bad-via'
  | 'bad-from'
  | 'bad-to'
  | 'bad-call-id'
  | 'bad-cseq'
  | 'cseq-method-mismatch'
  | 'bad-max-forwards'
  | 'bad-content-length'
  | 'body-too-short'
  | 'internal';

/** Status a request with this error should be answered with (when `canRespond`). */
export type SipParseErrorStatus = 400 | 413 | 416 | 505 | 513;

/**
 * Just enough of a broken request to answer it (RFC 3261 §8.2.6: copy Via, From, To, Call-ID,
 * CSeq). Via and CSeq are what the client matches a response with (§17.1.3), so they must be
 * there; From, To and Call-ID are copied when present (first occurrence, raw, even if malformed).
 */
export interface PartialRequest {
  readonly method: string;
  readonly via: readonly HeaderField[];
  readonly from: HeaderField | undefined;
  readonly to: HeaderField | undefined;
  readonly callId: HeaderField | undefined;
  readonly cseq: HeaderField;
  readonly toHasTag: boolean;
}

export interface SipParseError {
  readonly code: SipParseErrorCode;
  /** Short, fixed text (never echoes input), safe to use as a reason phrase. */
  readonly reason: string;
  /** Byte offset near the fault, when known. */
  readonly position?: number;
  /** Canonical name of the header concerned, for header-level codes. */
  readonly header?: string;
  /** True for a request whose Via/From/To/Call-ID/CSeq are usable to send `status`. */
  readonly canRespond: boolean;
  readonly status: SipParseErrorStatus;
  /** Present exactly when `canRespond`. */
  readonly partial?: PartialRequest;
}

/** One table: code → status and fixed reason phrase (RFC 3261 §21). */
const TABLE: Readonly<Record<SipParseErrorCode, readonly [SipParseErrorStatus, string]>> = {
  empty: [400, 'Empty Message'],
  'no-header-end': [400, 'Incomplete Header Section'],
  'message-too-large': [413, 'Request Entity Too Large'],
  'headers-too-large': [513, 'Message Too Large'],
  'too-many-headers': [513, 'Too Many Header Fields'],
  'control-char': [400, 'Control Character In Message'],
  'bad-line-ending': [400, 'Bad Line Ending'],
  'bad-start-line': [400, 'Malformed Start Line'],
  'bad-method': [400, 'Malformed Method'],
  'bad-request-uri': [400, 'Malformed Request-URI'],
  'unsupported-uri-scheme': [416, 'Unsupported URI Scheme'],
  'unsupported-version': [505, 'Version Not Supported'],
  'bad-status-code': [400, 'Bad Status Code'],
  'bad-header-line': [400, 'Malformed Header Field'],
  'missing-header': [400, 'Missing Header'],
  'duplicate-header': [400, 'Duplicate Header'],
  'bad-via': [400, 'Malformed Via'],
  'bad-from': [400, 'Malformed From'],
  'bad-to': [400, 'Malformed To'],
  'bad-call-id': [400, 'Malformed Call-ID'],
  'bad-cseq': [400, 'Malformed CSeq'],
  'cseq-method-mismatch': [400, 'CSeq Method Mismatch'],
  'bad-max-forwards': [400, 'Malformed Max-Forwards'],
  'bad-content-length': [400, 'Malformed Content-Length'],
  'body-too-short': [400, 'Content-Length Exceeds Body'],
  internal: [400, 'Unparsable Message'],
};

/** Builds a SipParseError; `partial` (and so `canRespond`) only for answerable requests. */
export function parseError(
  code: SipParseErrorCode,
  extra: {
    position?: number | undefined;
    header?: string | undefined;
    partial?: PartialRequest | undefined;
  } = {},
): SipParseError {
  const [status, fixed] = TABLE[code];
  const header = extra.header === undefined ? undefined : spellHeader(extra.header);
  const reason =
    header !== undefined && (code === 'missing-header' || code === 'duplicate-header')
      ? `${code === 'missing-header' ? 'Missing' : 'Duplicate'} ${header} Header`
      : fixed;
  return {
    code,
    reason,
    status,
    canRespond: extra.partial !== undefined,
    ...(extra.position === undefined ? {} : { position: extra.position }),
    ...(header === undefined ? {} : { header }),
    ...(extra.partial === undefined ? {} : { partial: extra.partial }),
  };
}

/** Only our own fixed spellings reach a reason phrase, never input text. */
function spellHeader(key: string): string {
  const known: Record<string, string> = {
    via: 'Via',
    from: 'From',
    to: 'To',
    'call-id': 'Call-ID',
    cseq: 'CSeq',
    'max-forwards': 'Max-Forwards',
    'content-length': 'Content-Length',
  };
  return known[key] ?? 'Header';
}
