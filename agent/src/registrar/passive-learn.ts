import { getContacts, getExpires, getHeaders } from '../sip/accessors.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { canonicalAor } from './aor.js';
import { type Binding, type Flow, userAgentOf } from './binding.js';
import type { BindingUpsert } from './process-register.js';
import { type RequestedContact, readContact } from './register-contact.js';

/** What passive mode learns from one relayed REGISTER and the outside registrar's answer. */
export interface PassiveLearned {
  readonly aor: string;
  readonly upserts: readonly BindingUpsert[];
  readonly removals: readonly Binding[];
}

function contactsOf(msg: SipRequest | SipResponse): Map<string, RequestedContact> | undefined {
  const parsed = getContacts(msg);
  if (!parsed.ok) return undefined;
  const out = new Map<string, RequestedContact>();
  if (parsed.value.star) return out;
  for (const na of parsed.value.contacts.slice(0, 64)) {
    const c = readContact(na);
    if (c.ok) out.set(c.value.key, c.value);
  }
  return out;
}

/**
 * Passive mode (ARCHITECTURE §5): the bindings of the phone's REGISTER as the outside registrar
 * accepted them. Only a 2xx teaches anything; a failed or unanswered REGISTER returns
 * `undefined`. The 2xx lists every current binding of the AOR with its expiry (RFC 3261 §10.3
 * step 8, §10.2.4), which is authoritative:
 * - a contact this phone sent → a binding on this phone's flow with the registrar's expiry;
 * - a contact we already hold (another phone registered through us) → its expiry refreshed;
 * - a contact we never saw → ignored (we do not know its flow);
 * - a binding we hold that the 2xx no longer lists → removed (unregistered, or expired there).
 * Pure.
 */
export function learnFromRegisterOk(
  request: SipRequest,
  response: SipResponse,
  current: readonly Binding[],
  flow: Flow,
  now: number,
  defaultExpiresSec: number,
): PassiveLearned | undefined {
  if (response.status < 200 || response.status >= 300) return undefined;
  const aor = canonicalAor(request.to.uri);
  if (aor === undefined) return undefined;
  const sent = contactsOf(request);
  const granted = contactsOf(response);
  if (sent === undefined || granted === undefined) return undefined;
  const header = getExpires(response);
  const headerExpires = header.ok ? header.value : undefined;

  const held = new Map(current.filter((b) => b.aor === aor).map((b) => [b.key, b] as const));
  const upserts: BindingUpsert[] = [];
  const kept = new Set<string>();
  for (const [key, c] of granted) {
    // §10.2.4: the registrar states each contact's expiry; fall back to Expires, then our default.
    const expires = c.expiresSec ?? headerExpires ?? defaultExpiresSec;
    if (expires <= 0) continue;
    const existing = held.get(key);
    const mine = sent.get(key);
    if (mine !== undefined) {
      upserts.push({
        action: existing === undefined ? 'added' : 'refreshed',
        binding: {
          aor,
          key,
          contact: mine.uri.raw,
          q: c.q ?? mine.q,
          expiresAt: now + expires * 1000,
          callId: request.callId,
          cseq: request.cseq.seq,
          instanceId: mine.instanceId ?? c.instanceId,
          regId: mine.regId ?? c.regId,
          flow,
          registeredAt: existing?.registeredAt ?? now,
          userAgent: userAgentOf(getHeaders(request, 'user-agent')),
        },
      });
    } else if (existing !== undefined) {
      upserts.push({ action: 'refreshed', binding: { ...existing, expiresAt: now + expires * 1000 } });
    } else {
      continue;
    }
    kept.add(key);
  }
  const removals = [...held.values()].filter((b) => !kept.has(b.key));
  return { aor, upserts, removals };
}
