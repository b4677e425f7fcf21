import { startTestControlPlane } from '../helpers/control-plane.js';
import { brokerSuite } from './broker.suite.js';

brokerSuite('embedded aedes broker: ACL and bridge', {
  start: () => startTestControlPlane(),
  acl: true,
  limits: true,
  protocolVersion: 4,
});
