import type { Myself } from '../core/myself.js';
import type { SipRequest } from '../sip/message.js';
import { userAor } from './aor.js';

/** What decides whether a REGISTER is ours: the site's domains, and the agent's own addresses. */
export interface RegisterTargetConfig {
  /** Domains we are registrar for, lower-cased. */
  readonly domains: ReadonlySet<string>;
  /**
   * The agent's domains and addresses. Without it only `domains` count (a Request-URI naming the
   * agent's address is then not ours).
   */
  readonly myself?: Myself | undefined;
}

/** A REGISTER for one of our domains: that domain (lower-cased) and the canonical AOR in it. */
export interface RegisterTarget {
  readonly domain: string;
  /** `undefined` when To has no user part (not an AOR). */
  readonly aor: string | undefined;
}

/**
 * RFC 3261 §10.3 steps 1 and 5 (pure): the Request-URI must name us, and the To URI must be an
 * AOR of a domain we serve. "Us" is one of our domains or one of the agent's own addresses, with
 * or without a port we listen on (phones configured with the firewall's IP as "server" send
 * `REGISTER sip:<ip>`). An AOR whose host is one of the agent's addresses belongs to the default
 * domain (`alice@<ip>` is `alice@<first domain>`). When the Request-URI names a domain, the AOR
 * must be of that domain (step 5).
 */
export function registerTarget(
  req: SipRequest,
  cfg: RegisterTargetConfig,
): RegisterTarget | 'not-our-domain' | 'to-not-sip' {
  const ru = req.requestUri;
  const to = req.to.uri;
  if (ru.kind !== 'sip') return 'not-our-domain';
  // RFC 4475 §3.3.4: a REGISTER for us whose To is not a SIP or SIPS URI names no AOR → 400.
  if (to.kind !== 'sip') {
    const ours = cfg.myself === undefined ? cfg.domains.has(ru.host.toLowerCase()) : cfg.myself.isUri(ru);
    return ours ? 'to-not-sip' : 'not-our-domain';
  }
  let domain: string | undefined;
  const myself = cfg.myself;
  if (myself === undefined) {
    const host = ru.host.toLowerCase();
    if (!cfg.domains.has(host) || to.host.toLowerCase() !== host) return 'not-our-domain';
    domain = host;
  } else {
    if (!myself.isUri(ru)) return 'not-our-domain';
    domain = myself.aorDomain(to.host);
    if (domain === undefined) return 'not-our-domain';
    if (myself.isDomain(ru.host) && myself.aorDomain(ru.host) !== domain) return 'not-our-domain';
  }
  const aor = to.user === undefined || to.user.length === 0 ? undefined : userAor(to.user, domain);
  return { domain, aor };
}
