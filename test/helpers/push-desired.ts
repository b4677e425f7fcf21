import type { ControlPlane } from '@sipwall/control-plane';
import { type DesiredStateInput, DesiredStateSchema } from '@sipwall/shared';

/**
 * Pushes one desired state to an agent the way the control plane does: validated by the shared
 * schema, published retained by the control plane's own MQTT publisher.
 *
 * The one place e2e tests push from, so it can be rewired in one line. tRPC `agents.pushDesired`
 * cannot carry the contract yet: its input takes the full `PoliciesSchema` (filling every default,
 * so a push would override the agent file's policies instead of patching them) and has no
 * `revertAfterSec`. Once the control plane's config model sends patches, call it here instead.
 */
export async function pushDesired(
  cp: ControlPlane,
  agentId: string,
  state: Omit<DesiredStateInput, 'issuedAt'>,
): Promise<number> {
  const desired = DesiredStateSchema.parse({ issuedAt: new Date().toISOString(), ...state });
  await cp.bridge.publishDesired(agentId, desired);
  return desired.version;
}
