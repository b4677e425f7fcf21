export * from './message.js';
export * from './errors.js';
export type { ParseOptions } from './options.js';
export { DEFAULT_PARSE_LIMITS } from './options.js';
export { parseMessage } from './parse.js';
export { serializeMessage } from './serialize.js';
export { createResponse, createErrorResponse, type CreateResponseOptions } from './build.js';
export * from './accessors.js';
export * from './edit.js';
