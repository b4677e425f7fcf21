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

/** Just enough of a broken request to answer it (RFC 3261 §8.2.6: copy Via, From, To, Call-ID, CSeq). */
export interface PartialRequest {
  readonly method: string;
  readonly via: readonly HeaderField[];
  readonly from: HeaderField;
  readonly to: HeaderField;
  readonly callId: HeaderField;
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
