import { z } from 'zod';

/**
 * `status` (agent → CP, retained). The agent publishes `online` after connecting and registers
 * `offline` as its MQTT last will, so the broker announces a lost agent.
 */
export const AgentStatusSchema = z.object({ state: z.enum(['online', 'offline']) }).strict();
export type AgentStatus = z.infer<typeof AgentStatusSchema>;
