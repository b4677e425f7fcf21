import { randomUUID } from 'node:crypto';

const ERROR_ID = Symbol('sipwall.errorId');

/**
 * The id of one internal error: sent to the client instead of the error's text and logged with
 * the full error, so an operator's report can be matched to the log line. Stored on the error
 * itself, so the formatter and `onError` agree whichever runs first.
 */
export function errorIdOf(error: object): string {
  const e = error as { [ERROR_ID]?: string };
  e[ERROR_ID] ??= randomUUID();
  return e[ERROR_ID];
}
