export { type AppDeps, createApp } from './app.js';
export { DomainError, StartError, type StartErrorCode } from './errors.js';
export { type ControlPlane, type ControlPlaneOptions, startControlPlane } from './server.js';
export type { AppRouter } from './trpc/root.js';
