import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { Clock } from './util/clock.js';

/** One bound SIP listener. */
export interface SipListening {
  interface: string;
  transport: 'udp' | 'tcp' | 'tls';
  address: string;
  port: number;
}

export interface SipService {
  readonly listening: readonly SipListening[];
  stop(): Promise<void>;
}

export interface SipServiceDeps {
  config: AgentConfig;
  logger: Logger;
  clock: Clock;
}

/**
 * Starts the SIP side of the agent (transports → transactions → request handling).
 * Owned by the SIP core work; until it lands the agent binds no SIP sockets and says so.
 */
export async function startSipService(deps: SipServiceDeps): Promise<SipService> {
  deps.logger.warn('SIP stack not wired yet: no SIP listeners started');
  return { listening: [], stop: async () => {} };
}
