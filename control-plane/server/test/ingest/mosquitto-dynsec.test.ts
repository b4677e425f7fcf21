import { afterAll, describe, it } from 'vitest';
import { startTestControlPlane } from '../helpers/control-plane.js';
import { mosquittoMissing, startMosquittoDynsec, type TestMosquitto } from '../helpers/mosquitto.js';
import { brokerSuite } from './broker.suite.js';

const missing = mosquittoMissing();

if (missing) {
  describe('Mosquitto + dynamic security', () => {
    it.skip(`skipped: ${missing} (CI installs mosquitto)`, () => {});
  });
} else {
  let mosquitto: TestMosquitto | undefined;
  afterAll(async () => {
    await mosquitto?.stop();
  });
  brokerSuite('Mosquitto (started by the test) + dynsec provisioning: ACL and bridge', {
    start: async () => {
      mosquitto = await startMosquittoDynsec();
      return startTestControlPlane({
        broker: { kind: 'external', url: mosquitto.adminUrl, provisioning: 'dynsec' },
      });
    },
    acl: true,
    protocolVersion: 5,
  });
}
