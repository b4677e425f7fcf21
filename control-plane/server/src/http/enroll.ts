import { type EnrollError, EnrollRequestSchema } from '@sipwall/shared';
import type { Context } from 'hono';
import type { Database } from '../db/client.js';
import { type EnrollDeps, type EnrollFailure, enrollAgent } from '../domain/enroll.js';

const STATUS: Record<EnrollFailure, 401 | 409 | 410> = {
  'invalid-token': 401,
  'token-used': 409,
  'token-expired': 410,
};

const MESSAGES: Record<EnrollFailure, string> = {
  'invalid-token': 'unknown enrollment token',
  'token-used': 'this enrollment token was already used; create a new one in the dashboard',
  'token-expired': 'this enrollment token has expired; create a new one in the dashboard',
};

/** `POST /api/enroll`: one-time token → MQTT credentials (`EnrollResponseSchema`). */
export function enrollHandler(db: Database, deps: EnrollDeps) {
  return async (c: Context) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json<EnrollError>({ error: 'invalid-request', message: 'body must be JSON' }, 400);
    }
    const parsed = EnrollRequestSchema.safeParse(body);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      return c.json<EnrollError>({ error: 'invalid-request', message }, 400);
    }
    const outcome = await enrollAgent(db, deps, parsed.data);
    if (!outcome.ok)
      return c.json<EnrollError>(
        { error: outcome.error, message: MESSAGES[outcome.error] },
        STATUS[outcome.error],
      );
    return c.json(outcome.response, 200);
  };
}
