import { describe, it } from 'vitest';
import { startTestControlPlane } from '../helpers/control-plane.js';
import { brokerSuite } from './broker.suite.js';

const url = process.env['MQTT_URL'];

if (!url) {
  describe('external broker from MQTT_URL', () => {
    it.skip('skipped: MQTT_URL is not set (CI sets mqtt://127.0.0.1:1883, anonymous Mosquitto)', () => {});
  });
} else {
  brokerSuite(`external broker at MQTT_URL: bridge`, {
    start: () => startTestControlPlane({ broker: { kind: 'external', url, provisioning: 'none' } }),
    acl: false,
    protocolVersion: 5,
  });
}
