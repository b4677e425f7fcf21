import type { DesiredState } from '@sipwall/shared';

/** Publishes an agent's desired state (retained, QoS 1). Implemented by the MQTT bridge. */
export interface DesiredPublisher {
  publishDesired(agentId: string, state: DesiredState): Promise<void>;
}

/** Makes an agent's MQTT credentials valid on the broker (no-op for the embedded broker, dynsec for Mosquitto). */
export interface AgentProvisioner {
  provisionAgent(agentId: string, password: string): Promise<void>;
}

/** Injected time source. */
export type Clock = () => Date;
