/** Closed set of reasons a REGISTER is refused by the registrar core. */
export type RegisterRejectReason =
  | 'not-our-domain'
  | 'unknown-aor'
  | 'to-not-sip'
  | 'not-authorized-for-aor'
  | 'forbidden-source'
  | 'too-many-bindings'
  | 'bad-contact'
  | 'bad-expires'
  | 'wildcard-with-other-contacts'
  | 'wildcard-nonzero-expires'
  | 'interval-too-brief'
  | 'out-of-order';

export interface RejectResponse {
  readonly status: number;
  readonly reasonPhrase: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

interface RejectRow {
  readonly status: number;
  readonly reasonPhrase: string;
  readonly headers?: (cfg: { readonly minExpiresSec: number }) => ReadonlyArray<readonly [string, string]>;
}

/** The one table from reason to response (STYLE §3.7). Reason phrases are fixed text, never input. */
const REGISTER_REJECTS: Readonly<Record<RegisterRejectReason, RejectRow>> = {
  // RFC 3261 §10.3 steps 1 and 5: a domain we do not serve, or an AOR not valid for it → 404.
  'not-our-domain': { status: 404, reasonPhrase: 'Not Found' },
  'unknown-aor': { status: 404, reasonPhrase: 'Not Found' },
  // RFC 4475 §3.3.4: To must hold a SIP or SIPS URI (the AOR) → 400.
  'to-not-sip': { status: 400, reasonPhrase: 'To Is Not A SIP URI' },
  // §10.3 step 4: the authenticated user may not modify this AOR → 403.
  'not-authorized-for-aor': { status: 403, reasonPhrase: 'Forbidden' },
  'forbidden-source': { status: 403, reasonPhrase: 'Forbidden' },
  'too-many-bindings': { status: 403, reasonPhrase: 'Too Many Bindings' },
  'bad-contact': { status: 400, reasonPhrase: 'Bad Contact' },
  'bad-expires': { status: 400, reasonPhrase: 'Bad Expires' },
  // §10.3 step 6: "*" with other contacts, or with an Expires other than 0 → 400.
  'wildcard-with-other-contacts': { status: 400, reasonPhrase: 'Invalid Wildcard Contact' },
  'wildcard-nonzero-expires': { status: 400, reasonPhrase: 'Invalid Wildcard Contact' },
  // §10.3 step 7 / §21.4.17: 423 carries Min-Expires.
  'interval-too-brief': {
    status: 423,
    reasonPhrase: 'Interval Too Brief',
    headers: (cfg) => [['Min-Expires', String(cfg.minExpiresSec)]],
  },
  // §10.3 step 7: same Call-ID and a CSeq not higher than stored → the update is aborted and the
  // request fails; §10.3 step 8 (all-or-nothing commit) answers a failed update with 500.
  'out-of-order': { status: 500, reasonPhrase: 'Out Of Order Request' },
};

/** Status, reason phrase and extra headers for a refused REGISTER. */
export function registerRejectResponse(
  reason: RegisterRejectReason,
  cfg: { readonly minExpiresSec: number },
): RejectResponse {
  const row = REGISTER_REJECTS[reason];
  return { status: row.status, reasonPhrase: row.reasonPhrase, headers: row.headers?.(cfg) ?? [] };
}
