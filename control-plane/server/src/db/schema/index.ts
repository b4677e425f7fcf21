export * from './agents.js';
export * from './audit-log.js';
export * from './config-versions.js';
export * from './operators.js';
export * from './organizations.js';
export * from './sessions.js';
export * from './sites.js';
export * from './telemetry.js';
