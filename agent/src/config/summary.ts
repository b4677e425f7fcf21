import type { AgentConfig } from '@sipwall/shared';

/** One line describing a valid config, printed by `--check-config`. */
export function summarizeConfig(path: string, config: AgentConfig): string {
  const ifaces = config.sip.interfaces
    .map((i) => `${i.name}=${i.address}:${i.port}/${i.transports.join('+')}`)
    .join(' ');
  const link = config.controlPlane === undefined ? 'standalone' : `control plane ${config.controlPlane.url}`;
  return (
    `config OK: ${path}: site ${config.site}, domains ${config.sip.domains.join(',')}, ` +
    `interfaces ${ifaces}, ${config.users.length} users, admin ${config.admin.address}:${config.admin.port}, ${link}`
  );
}
