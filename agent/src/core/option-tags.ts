import { getHeaders } from '../sip/accessors.js';
import { createResponse } from '../sip/build.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { isToken } from '../sip/scan.js';

/**
 * Option-tags the agent implements (RFC 3261 §19.2), lower case: `outbound` (RFC 5626: the
 * registrar keeps flows by instance and reg-id and answers `Require: outbound`). Not `path`
 * (RFC 3327: Path is not stored with bindings) nor `gruu` (RFC 5627).
 */
export const AGENT_OPTION_TAGS: ReadonlySet<string> = new Set(['outbound']);

/**
 * The option-tags of `Require` (RFC 3261 §8.2.2.3, the UAS check) or `Proxy-Require` (§16.3
 * item 4, the proxy check) that are not in `supported`, in the request's spelling and order,
 * each once; empty when every tag is supported. Tags compare case-insensitively; a value that is
 * not a token (§25.1 option-tag = token) is not a tag and is skipped, so the list is safe to echo. The caller
 * answers `420 Bad Extension` with `Unsupported: <tags>` (§20.40) when the list is not empty,
 * except for ACK and CANCEL, which are never rejected for it (§8.2.2.3).
 *
 * @example
 * const tags = unsupportedOptionTags(request, 'proxy-require', AGENT_OPTION_TAGS);
 * if (tags.length > 0) respond(420, { Unsupported: tags.join(', ') });
 */
export function unsupportedOptionTags(
  request: SipRequest,
  header: 'require' | 'proxy-require',
  supported: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const value of getHeaders(request, header)) {
    // A list header: getHeaders splits on commas; a value that would not split stays whole.
    for (const part of value.split(',')) {
      const tag = part.trim();
      const key = tag.toLowerCase();
      if (!isToken(tag) || supported.has(key) || seen.has(key)) continue;
      seen.add(key);
      out.push(tag);
    }
  }
  return out;
}

/**
 * The `420 Bad Extension` answer (with `Unsupported`, §20.40) for a request whose `Require` (the
 * agent as UAS) or `Proxy-Require` (the agent as proxy) names a tag outside `AGENT_OPTION_TAGS`;
 * `undefined` when there is none. One answer for the core and the proxy.
 */
/**
 * Option-tags the agent understands as a proxy (`Proxy-Require`, RFC 3261 §16.3 item 4): the
 * agent's own plus `timer` (RFC 4028 §8: the proxy takes part in session timers).
 */
export const PROXY_OPTION_TAGS: ReadonlySet<string> = new Set([...AGENT_OPTION_TAGS, 'timer']);

export function badExtensionResponse(
  request: SipRequest,
  header: 'require' | 'proxy-require',
  toTag: () => string,
  supported: ReadonlySet<string> = AGENT_OPTION_TAGS,
): SipResponse | undefined {
  const unsupported = unsupportedOptionTags(request, header, supported);
  if (unsupported.length === 0) return undefined;
  return createResponse(request, 420, 'Bad Extension', {
    toTag: toTag(),
    headers: [['Unsupported', unsupported.join(', ')]],
  });
}
