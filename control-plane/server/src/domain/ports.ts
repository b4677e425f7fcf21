import type { DesiredState } from '@sipwall/shared';

/** Publishes an agent's desired state (retained, QoS 1). Implemented by the MQTT bridge. */
export interface DesiredPublisher {
  publishDesired(agentId: string, state: DesiredState): Promise<void>;
  /** Removes the retained desired state of a deleted agent (empty retained payload). */
  clearDesired(agentId: string): Promise<void>;
}

/**
 * Makes an agent's MQTT credentials valid or void on the broker: dynsec for Mosquitto; for the
 * embedded broker, which authenticates against the database, provisioning is a no-op and
 * revocation only disconnects the live session.
 */
export interface AgentProvisioner {
  provisionAgent(agentId: string, password: string): Promise<void>;
  /** Makes the agent's credentials stop working and drops its live connection. */
  revokeAgent(agentId: string): Promise<void>;
}

/** Injected time source. */
export type Clock = () => Date;
