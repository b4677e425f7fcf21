import type { AgentConfig } from '@sipwall/shared';
import { headerKey } from '../sip/compact-forms.js';
import type { SipUri } from '../sip/message.js';
import { parseUri } from '../sip/uri.js';
import type { ProxySettings } from './proxy-core.js';

/** Compiles the proxy's view of the config (pure): `sip.proxy` and the topology/admission policies. */
export function compileProxySettings(config: AgentConfig): ProxySettings {
  const p = config.sip.proxy;
  const th = config.policies.topologyHiding;
  return {
    outboundProxy: p.outboundProxy === undefined ? undefined : outboundProxyUri(p.outboundProxy),
    statelessMethods: new Set(p.statelessMethods),
    inviteTimeoutMs: p.inviteTimeoutSec * 1000,
    hide: th.enabled,
    strip: th.stripHeaders.map((h) => (h.endsWith('*') ? h.toLowerCase() : headerKey(h))),
    admission: config.policies.callAdmission,
    sessionTimer: {
      enabled: config.policies.sessionTimer.enabled,
      minSe: config.policies.sessionTimer.minSec,
      defaultSessionExpires: config.policies.sessionTimer.defaultSessionExpiresSec,
    },
    body: {
      allowedTypes: new Set(config.policies.allowedBodyTypes.map((t) => t.trim().toLowerCase())),
      deniedTypes: new Set(config.policies.deniedBodyTypes.map((t) => t.trim().toLowerCase())),
      maxMediaStreams: config.policies.maxMediaStreamsPerSession,
    },
  };
}

/** `host[:port][;transport=x]` (validated by the schema) as the URI the proxy resolves. */
export function outboundProxyUri(text: string): SipUri | undefined {
  const uri = parseUri(`sip:${text};lr`);
  return uri?.kind === 'sip' ? uri : undefined;
}
