const LATIN1 = /^[\x00-\xff]*$/;

/**
 * A copy of `s` that owns its characters. Strings cut from a parsed message are V8 slices or
 * concatenations that keep the whole message text alive; anything kept long (a stored binding,
 * a completed transaction's key) must not.
 */
export function detachString(s: string): string {
  if (s.length < 13) return s; // V8 copies short substrings anyway
  return LATIN1.test(s)
    ? Buffer.from(s, 'latin1').toString('latin1')
    : (JSON.parse(JSON.stringify(s)) as string);
}
