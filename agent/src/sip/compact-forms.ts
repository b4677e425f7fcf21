/**
 * Header names: compact forms (RFC 3261 §7.3.3 and the IANA registry), canonical
 * spellings, and which headers may be split on commas (§7.3.1).
 */

/** Compact form → canonical lower-case long name. */
const COMPACT: Readonly<Record<string, string>> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/** Canonical long names with their usual spelling (used when we emit a header). */
const SPELLING: Readonly<Record<string, string>> = {
  via: 'Via',
  from: 'From',
  to: 'To',
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'max-forwards': 'Max-Forwards',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  contact: 'Contact',
  route: 'Route',
  'record-route': 'Record-Route',
  expires: 'Expires',
  'www-authenticate': 'WWW-Authenticate',
  'proxy-authenticate': 'Proxy-Authenticate',
  'proxy-authorization': 'Proxy-Authorization',
  authorization: 'Authorization',
  'min-expires': 'Min-Expires',
};

/**
 * Headers whose grammar is `#element` and can be split on top-level commas (§7.3.1).
 * Everything else (WWW-Authenticate, Authorization, Date, unknown headers …) is one value per line.
 */
const LIST_HEADERS: ReadonlySet<string> = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'path',
  'service-route',
  'allow',
  'allow-events',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'content-language',
  'in-reply-to',
  'alert-info',
  'call-info',
  'error-info',
  'warning',
  'p-asserted-identity',
  'p-preferred-identity',
  'reason',
  'security-client',
  'security-server',
  'security-verify',
]);

/** Cache of wire spellings we see all the time; other names are lower-cased on demand. */
const KEY_CACHE = new Map<string, string>();
for (const [key, spelled] of Object.entries(SPELLING)) {
  KEY_CACHE.set(spelled, key);
  KEY_CACHE.set(key, key);
}
for (const [short, key] of Object.entries(COMPACT)) {
  KEY_CACHE.set(short, key);
  KEY_CACHE.set(short.toUpperCase(), key);
}
for (const spelled of ['Allow', 'Supported', 'User-Agent', 'Server', 'Require', 'Accept', 'Subject']) {
  KEY_CACHE.set(spelled, spelled.toLowerCase());
}

/** Canonical lower-case long name for a header name as written (case-insensitive, compact aware). */
export function headerKey(name: string): string {
  const cached = KEY_CACHE.get(name);
  if (cached !== undefined) return cached;
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

/** Usual spelling of a canonical key (`call-id` → `Call-ID`); unknown keys are title-cased. */
export function headerSpelling(key: string): string {
  const known = SPELLING[key];
  if (known !== undefined) return known;
  return key.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
}

export function isListHeader(key: string): boolean {
  return LIST_HEADERS.has(key);
}
