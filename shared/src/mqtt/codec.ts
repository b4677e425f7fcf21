import type { z } from 'zod';
import { type FieldIssue, toFieldIssues } from '../issues.js';
import { err, ok, type Result } from '../result.js';

export type DecodeError =
  | { code: 'not-json'; message: string }
  | { code: 'invalid'; issues: FieldIssue[] }
  | { code: 'too-large'; bytes: number };

/** Largest payload either side accepts (desired state with thousands of users fits well below). */
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** The only JSON boundary of the wire protocol: bytes in, typed value or typed error out. */
export function decode<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array | string,
): Result<z.output<S>, DecodeError> {
  const bytes = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const size = bytes.byteLength;
  if (size > MAX_PAYLOAD_BYTES) return err({ code: 'too-large', bytes: size });
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : decoder.decode(bytes));
  } catch (e) {
    return err({ code: 'not-json', message: (e as Error).message });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return err({ code: 'invalid', issues: toFieldIssues(parsed.error) });
  return ok(parsed.data);
}

/** Validates then serializes, so nothing invalid ever leaves a process. Throws on a programming error. */
export function encode<S extends z.ZodType>(schema: S, value: z.input<S>): string {
  return JSON.stringify(schema.parse(value));
}
