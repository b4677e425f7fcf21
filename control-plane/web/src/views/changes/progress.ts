/** Pure: a site's push progress from its agents' config states (`domain/config-state.ts`). */

/** Applied / pending / failed agents of a site, from their config state. */
export function progressOf(agents: readonly { configState: string }[]) {
  let applied = 0;
  let pending = 0;
  let failed = 0;
  for (const a of agents) {
    if (a.configState === 'applied') applied++;
    else if (a.configState === 'rejected' || a.configState === 'reverted') failed++;
    else if (a.configState === 'pending') pending++;
  }
  return { applied, pending, failed, total: agents.length };
}
