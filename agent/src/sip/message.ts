/**
 * SIP message model (RFC 3261 §7). Plain readonly data: a parsed message is never
 * mutated. Edits (see `edit.ts`) return new messages; serialization re-emits the raw
 * text of every header field the edits did not touch.
 *
 * All strings are latin1 decodings of the wire bytes, so every byte survives
 * (`Buffer.from(s, 'latin1')` gives the bytes back).
 */

/** A `;name=value` parameter as written (value keeps quotes if it was a quoted-string). */
export interface Param {
  readonly name: string;
  /** `undefined` when the parameter has no `=value` (e.g. `;lr`, `;rport`). */
  readonly value: string | undefined;
}

/** `sip:` / `sips:` URI (RFC 3261 §19.1). */
export interface SipUri {
  readonly kind: 'sip';
  readonly scheme: 'sip' | 'sips';
  /** User part with `%hh` escapes decoded (compare this, RFC 3261 §19.1.4). */
  readonly user: string | undefined;
  /** User part exactly as written. */
  readonly userRaw: string | undefined;
  readonly password: string | undefined;
  /** Host as written, lower-cased; IPv6 references keep their brackets: `[2001:db8::1]`. */
  readonly host: string;
  readonly hostKind: 'ipv4' | 'ipv6' | 'domain';
  readonly port: number | undefined;
  /** uri-parameters (`;transport=tcp;lr;maddr=…`). */
  readonly params: readonly Param[];
  /** `?a=b&c=d` headers component. */
  readonly headers: readonly Param[];
  /** The URI text exactly as written. */
  readonly raw: string;
}

/** `tel:` URI (RFC 3966), kept shallow. */
export interface TelUri {
  readonly kind: 'tel';
  readonly scheme: 'tel';
  readonly number: string;
  readonly params: readonly Param[];
  readonly raw: string;
}

/** Any other absolute URI (`http:`, `urn:`, `isbn:` …), kept opaque. */
export interface AbsoluteUri {
  readonly kind: 'absolute';
  /** Lower-cased scheme. */
  readonly scheme: string;
  readonly raw: string;
}

export type Uri = SipUri | TelUri | AbsoluteUri;

/** One via-parm (RFC 3261 §20.42; one header line may hold several). */
export interface Via {
  /** Usually `SIP`. */
  readonly protocolName: string;
  /** Usually `2.0`. */
  readonly protocolVersion: string;
  /** Upper-cased transport token: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS` or an unknown token. */
  readonly transport: string;
  /** sent-by host, lower-cased; IPv6 keeps brackets. */
  readonly host: string;
  readonly port: number | undefined;
  readonly branch: string | undefined;
  readonly received: string | undefined;
  /** RFC 3581: `true` = `;rport` present without value, a number = filled in, `undefined` = absent. */
  readonly rport: number | true | undefined;
  /** All via-params in order (including branch/received/rport). */
  readonly params: readonly Param[];
  /** This via-parm's text as written (no surrounding commas/whitespace). */
  readonly raw: string;
}

/** From / To / Contact / Route / Record-Route value (RFC 3261 §20.10, §25.1). */
export interface NameAddr {
  /** Display name, unquoted and unescaped; `undefined` when absent. */
  readonly displayName: string | undefined;
  readonly uri: Uri;
  /** Written as name-addr (`<…>`) rather than bare addr-spec. */
  readonly angleBrackets: boolean;
  /** Header parameters (after `>`, or after the URI in addr-spec form, §20.10). */
  readonly params: readonly Param[];
  /** Convenience: the `tag` header parameter. */
  readonly tag: string | undefined;
  /** The value text exactly as written. */
  readonly raw: string;
}

export interface CSeq {
  /** 0 … 2^31-1 (RFC 3261 §8.1.1.5). */
  readonly seq: number;
  readonly method: string;
}

/** Contact header values: either `*` (REGISTER remove-all, §10.2.2) or a list. */
export type ContactList =
  | { readonly star: true }
  | { readonly star: false; readonly contacts: readonly NameAddr[] };

/** One header field as it appeared on the wire. */
export interface HeaderField {
  /** Name as written (may be compact, any case). */
  readonly name: string;
  /** Canonical lower-case long name (`v` → `via`, `Call-ID` → `call-id`). */
  readonly key: string;
  /** Value with line folds replaced by one SP and surrounding whitespace trimmed. */
  readonly value: string;
  /** The exact wire text of the field including folds and the trailing CRLF. */
  readonly raw: string;
}

interface SipMessageCommon {
  /** `SIP/2.0` as written. */
  readonly version: string;
  /** Start line exactly as written, without CRLF. */
  readonly startLine: string;
  /** Every header field in wire order. */
  readonly headers: readonly HeaderField[];
  /** Body bytes (exactly Content-Length bytes when the header is present). */
  readonly body: Buffer;
  /** All Via values top-down, eagerly parsed. Empty only after `removeTopVia` removed the last one. */
  readonly via: readonly Via[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  readonly cseq: CSeq;
  /** `undefined` when absent; the proxy applies RFC 3261 §16.6 step 3 (use 70). */
  readonly maxForwards: number | undefined;
  /** Declared Content-Length, `undefined` when absent. */
  readonly contentLength: number | undefined;
  /**
   * Exact wire bytes of this message while it is unedited (serialize returns them);
   * `undefined` for edited or built messages.
   */
  readonly wire: Buffer | undefined;
}

export interface SipRequest extends SipMessageCommon {
  readonly kind: 'request';
  /** Method as written (case-sensitive, RFC 3261 §7.1); unknown methods are kept. */
  readonly method: string;
  readonly requestUri: Uri;
}

export interface SipResponse extends SipMessageCommon {
  readonly kind: 'response';
  /** 100 … 699. */
  readonly status: number;
  /** Reason phrase as written (latin1; may be UTF-8 bytes). */
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;
