/**
 * Switch for the fast paths (byte-level header scan, charCode scanners for the common Via,
 * name-addr and URI shapes). Each fast path accepts only a strict subset of the grammar and
 * hands anything else to the general parser, so results are identical with the switch off;
 * `agent/test/sip/fast-path.test.ts` turns it off to prove that on every fixture.
 */
export const fastPaths = { enabled: true };
