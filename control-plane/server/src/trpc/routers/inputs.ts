import { isValidAgentId } from '@sipwall/shared';
import { z } from 'zod';

/**
 * C0 controls (NUL, ESC, CR, LF, …), DEL and C1 controls. None belongs in a name, an email, a
 * password or a config value; NUL in particular cannot be stored (PostgreSQL text and jsonb refuse
 * it), and CR/LF would forge lines in logs and exports.
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** The message of the one refinement below (clients get it per field in `data.issues`). */
export const CONTROL_CHARACTERS_MESSAGE = 'control characters are not allowed';

/** True when `s` holds no control character. */
export function isPlainText(s: string): boolean {
  return !CONTROL_CHARACTERS.test(s);
}

/**
 * Every free-text input starts here: a string without control characters.
 * @example
 * const Label = text().trim().min(1).max(64);
 */
export function text() {
  return z.string().refine(isPlainText, CONTROL_CHARACTERS_MESSAGE);
}

/**
 * The same rule for structured inputs whose schemas live in `@sipwall/shared` (desired state):
 * every string anywhere in the parsed value, keys included, must be plain text.
 */
export function plainTextOnly<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const walk = (v: unknown, path: (string | number)[]): void => {
      if (typeof v === 'string') {
        if (!isPlainText(v)) ctx.addIssue({ code: 'custom', path, message: CONTROL_CHARACTERS_MESSAGE });
      } else if (Array.isArray(v)) {
        for (const [i, item] of v.entries()) walk(item, [...path, i]);
      } else if (v !== null && typeof v === 'object') {
        for (const [k, item] of Object.entries(v)) {
          if (!isPlainText(k)) ctx.addIssue({ code: 'custom', path, message: CONTROL_CHARACTERS_MESSAGE });
          walk(item, [...path, k]);
        }
      }
    };
    walk(value, []);
  }) as T;
}

/** Display names: trimmed, non-empty, bounded, plain text. */
export const NameSchema = text().trim().min(1).max(200);

/** Sign-in email: plain text, then a valid address. */
export const EmailSchema = text().max(320).pipe(z.email());

/** Sign-in password: plain text, bounded (scrypt cost does not depend on it, memory does). */
export const PasswordSchema = text().min(1).max(1024);

export const AgentIdSchema = z.string().refine(isValidAgentId, 'not a valid agent id');

/** A SIP password the operator types: plain text, 8–128 characters. */
export const SipPasswordSchema = text().min(8, 'must be at least 8 characters').max(128);

/** Either the operator's password or `{ generate: true }` for a strong one, returned once. */
export const PasswordChoiceSchema = z.union([
  z.object({ password: SipPasswordSchema }).strict(),
  z.object({ generate: z.literal(true) }).strict(),
]);
