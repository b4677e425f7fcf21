import type { AgentConfig, FieldIssue } from '@sipwall/shared';
import { checkPortRange } from '../media/ports.js';
import { compileProxySettings } from '../proxy/proxy-settings.js';
import { compileRegistrarSettings, type SettingsError } from '../registrar/registrar-settings.js';

/**
 * Config fields the running agent cannot change without a restart (sockets, certificates, the
 * kernel media path, where state lives). A desired state that would change one is refused
 * naming it; a push can never reach them today (they are not managed), so this guards the merge.
 */
const FIXED_FIELDS: readonly { path: string; read: (c: AgentConfig) => unknown; why: string }[] = [
  { path: 'sip.interfaces', read: (c) => c.sip.interfaces, why: 'listening sockets are bound at start' },
  { path: 'sip.tls', read: (c) => c.sip.tls, why: 'TLS certificate files are read at start' },
  { path: 'sip.limits', read: (c) => c.sip.limits, why: 'transport limits are set on the sockets at start' },
  { path: 'sip.timers', read: (c) => c.sip.timers, why: 'transaction timers are fixed at start' },
  { path: 'media.driver', read: (c) => c.media.driver, why: 'the media driver is chosen at start' },
  { path: 'stateDir', read: (c) => c.stateDir, why: 'state files are opened at start' },
  { path: 'admin', read: (c) => c.admin, why: 'the admin API is bound at start' },
  { path: 'controlPlane', read: (c) => c.controlPlane, why: 'the control link is set up at start' },
];

const restartNeeded = (why: string) => `cannot change while the agent runs (${why}); restart the agent`;

/**
 * Compiles every layer's settings from a merged config the way the layers will (pure), and
 * checks what cannot change live against the running config. An empty list means every layer
 * accepts `next`, so switching the config store to it cannot fail half-way.
 */
export function checkLayers(running: AgentConfig, next: AgentConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const f of FIXED_FIELDS) {
    if (JSON.stringify(f.read(running)) !== JSON.stringify(f.read(next)))
      issues.push({ path: f.path, message: restartNeeded(f.why) });
  }
  const media = next.media;
  const rangeChanged = media.portMin !== running.media.portMin || media.portMax !== running.media.portMax;
  if (rangeChanged && media.driver === 'nftables')
    issues.push({
      path: 'media.portMin',
      message: restartNeeded('the nftables driver filters the media port range it was started with'),
    });
  const range = checkPortRange(media.portMin, media.portMax);
  if (!range.ok) issues.push({ path: 'media.portMin', message: range.error });
  const registrar = compileRegistrarSettings(next);
  if (!registrar.ok) issues.push(registrarIssue(registrar.error));
  const proxy = compileProxySettings(next);
  if (next.sip.proxy.outboundProxy !== undefined && proxy.outboundProxy === undefined)
    issues.push({ path: 'sip.proxy.outboundProxy', message: 'not a usable SIP URI host[:port]' });
  return issues;
}

function registrarIssue(e: SettingsError): FieldIssue {
  return e.code === 'bad-cidr'
    ? { path: 'policies', message: `not a network: ${e.cidr}` }
    : {
        path: 'sip.registrar.upstream',
        message: `passive mode needs host[:port], got ${e.upstream ?? 'none'}`,
      };
}
