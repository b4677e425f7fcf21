/**
 * A copy of `s` that owns its characters. Strings cut from a parsed message are V8 slices or
 * concatenations that keep the whole message text alive; anything kept long (a stored binding,
 * a completed transaction's key, a nonce-count entry) must not.
 *
 * `(' ' + s).slice(1)`: slicing a concatenation makes V8 flatten it into a new string first,
 * and the result is a slice of that private copy (one character longer than `s`), never of
 * the message. Four times cheaper than a round trip through a Buffer; the test checks that a
 * kept copy lets the message text go.
 */
export function detachString(s: string): string {
  if (s.length < 13) return s; // V8 copies short substrings anyway
  return (' ' + s).slice(1);
}
