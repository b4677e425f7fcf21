import { err, ok, type Result } from '@sipwall/shared';
import type { NameAddr, SipUri } from '../sip/message.js';
import { findParam } from '../sip/params.js';
import { contactKey } from './aor.js';

/** One Contact of a REGISTER, read into what the registrar needs. */
export interface RequestedContact {
  readonly uri: SipUri;
  readonly key: string;
  /** The `expires` contact parameter (RFC 3261 §10.2.1.1), `undefined` when absent. */
  readonly expiresSec: number | undefined;
  readonly q: number | undefined;
  readonly instanceId: string | undefined;
  readonly regId: number | undefined;
}

const MAX_INSTANCE_CHARS = 256;
const MAX_CONTACT_CHARS = 512;

/** RFC 3261 §25.1 qvalue: `0[.ddd]` or `1[.000]`, returned in thousandths. */
export function parseQ(value: string): number | undefined {
  const m = /^(?:0(?:\.(\d{0,3}))?|1(?:\.0{0,3})?)$/.exec(value);
  if (m === null) return undefined;
  if (value.startsWith('1')) return 1000;
  return Number((m[1] ?? '').padEnd(3, '0'));
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/**
 * Reads one Contact value. Only `sip:`/`sips:` contacts are accepted: the agent proxies SIP
 * to these addresses, and an `http:` or `mailto:` contact (allowed by RFC 3261 §10.2.1) could
 * not be reached through a flow anyway.
 */
export function readContact(na: NameAddr): Result<RequestedContact, 'bad-contact'> {
  const uri = na.uri;
  if (uri.kind !== 'sip' || uri.raw.length > MAX_CONTACT_CHARS) return err('bad-contact');

  let expiresSec: number | undefined;
  const exp = findParam(na.params, 'expires');
  if (exp !== undefined) {
    const v = unquote(exp.value ?? '');
    // delta-seconds (RFC 3261 §20.10); huge values are clamped by the caller, not refused.
    if (!/^\d{1,10}$/.test(v)) return err('bad-contact');
    expiresSec = Number(v);
  }

  let q: number | undefined;
  const qp = findParam(na.params, 'q');
  if (qp !== undefined) {
    q = parseQ(qp.value ?? '');
    if (q === undefined) return err('bad-contact');
  }

  let instanceId: string | undefined;
  const inst = findParam(na.params, '+sip.instance');
  if (inst !== undefined) {
    // RFC 5626 §4.1: +sip.instance="<urn:…>" (a quoted string holding an angle-bracketed URN).
    instanceId = unquote(inst.value ?? '');
    if (instanceId.length === 0 || instanceId.length > MAX_INSTANCE_CHARS) return err('bad-contact');
  }

  let regId: number | undefined;
  const rid = findParam(na.params, 'reg-id');
  if (rid !== undefined) {
    const v = rid.value ?? '';
    if (!/^[1-9]\d{0,9}$/.test(v) || Number(v) > 2 ** 31 - 1) return err('bad-contact');
    // RFC 5626 §6: a reg-id without +sip.instance is ignored.
    if (instanceId !== undefined) regId = Number(v);
  }

  // RFC 5626 §6 / RFC 5627: with an instance id the binding is identified by (instance, reg-id),
  // so a phone that moves to a new address replaces its binding instead of adding one.
  const key =
    instanceId === undefined
      ? contactKey(uri)
      : regId === undefined
        ? instanceId
        : `${instanceId};reg-id=${regId}`;
  return ok({ uri, key, expiresSec, q, instanceId, regId });
}
