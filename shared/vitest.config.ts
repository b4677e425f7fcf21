import { sipwallProject } from '../vitest.shared.js';

export default sipwallProject('shared');
