import type { ControlPlaneOptions } from '../../src/server.js';
import { startMosquittoDynsec, type TestMosquitto } from './mosquitto.js';

/**
 * The broker of a test file: the embedded aedes (MQTT 3.1.1) by default; with `MQTT_URL` set, a
 * Mosquitto this file starts on a free port with dynamic-security provisioning, so agents run under
 * their real per-agent ACL and no other control plane on a shared broker takes a share of the
 * events (`$share/cp/…`).
 */
export async function brokerUnderTest(): Promise<{
  options: Partial<ControlPlaneOptions>;
  label: string;
  protocolVersion: 4 | 5;
  stop(): Promise<void>;
}> {
  if (!process.env['MQTT_URL']) {
    return { options: {}, label: 'aedes, MQTT 3.1.1', protocolVersion: 4, stop: async () => {} };
  }
  const mosquitto: TestMosquitto = await startMosquittoDynsec();
  return {
    options: { broker: { kind: 'external', url: mosquitto.adminUrl, provisioning: 'dynsec' } },
    label: 'Mosquitto + dynsec, MQTT 5',
    protocolVersion: 5,
    stop: () => mosquitto.stop(),
  };
}
