export * from './message.js';
export * from './errors.js';
export type { ParseOptions } from './options.js';
export { DEFAULT_PARSE_LIMITS } from './options.js';
export { parseMessage } from './parse.js';
export { serializeMessage } from './serialize.js';
export {
  createResponse,
  createErrorResponse,
  errorResponseBytes,
  type CreateResponseOptions,
} from './build.js';
export * from './accessors.js';
export * from './edit.js';
export { parseUri, decodeEscapes } from './uri.js';
export { parseNameAddr } from './name-addr.js';
export { headerKey, isListHeader } from './compact-forms.js';
export { reasonPhrase } from './reason-phrases.js';
