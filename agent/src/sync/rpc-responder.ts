import {
  type DecodeError,
  decode,
  encode,
  isRpcMethod,
  type LiveCall,
  type LiveRegistration,
  RPC_MAX_REPLY_BYTES,
  RPC_RESULT_SCHEMAS,
  type RpcErrorCode,
  type RpcMethod,
  type RpcPageParams,
  RpcPageParamsSchema,
  type RpcReply,
  RpcReplySchema,
  RpcRequestSchema,
  LadderResultSchema,
  type LadderResult,
  RpcLadderParamsSchema,
  toFieldIssues,
} from '@sipwall/shared';
import type { Logger } from 'pino';
import { LogThrottle } from '../log/throttle.js';
import type { MediaSessionRow } from '../media/sessions.js';
import type { CallRow } from '../proxy/calls.js';
import type { RegistrationRow } from '../registrar/registration-view.js';
import type { Clock } from '../util/clock.js';
import type { CallTraceView } from '../trace/call-trace.js';
import { ladderResult, liveCall, liveRegistration } from './rpc-rows.js';

/** What the control plane asked for, decided from topic method and payload alone (pure). */
export type RpcDecision =
  | { readonly kind: 'invalid'; readonly error: DecodeError }
  | { readonly kind: 'expired'; readonly id: string }
  | { readonly kind: 'refuse'; readonly id: string; readonly code: RpcErrorCode; readonly message: string }
  | {
      readonly kind: 'query';
      readonly id: string;
      readonly method: Exclude<RpcMethod, 'ladder'>;
      readonly page: RpcPageParams;
    }
  | { readonly kind: 'ladder'; readonly id: string; readonly callId: string };

/**
 * Decodes one `rpc/{method}` request: an undecodable payload is `invalid` (dropped: there is no id
 * to answer), a request received after its deadline is `expired` (the caller gave up; answering
 * would only load the broker), an unknown method or bad params is refused by id.
 */
export function decideRpc(method: string, payload: Uint8Array | string, now: number): RpcDecision {
  const request = decode(RpcRequestSchema, payload);
  if (!request.ok) return { kind: 'invalid', error: request.error };
  const { id, params, deadline } = request.value;
  if (Date.parse(deadline) <= now) return { kind: 'expired', id };
  if (!isRpcMethod(method)) {
    return { kind: 'refuse', id, code: 'unknown-method', message: `unknown method ${method.slice(0, 64)}` };
  }
  const invalid = (error: Parameters<typeof toFieldIssues>[0]): RpcDecision => {
    const issues = toFieldIssues(error).map((i) => `${i.path || 'params'}: ${i.message}`);
    return { kind: 'refuse', id, code: 'invalid-params', message: issues.join('; ').slice(0, 1024) };
  };
  if (method === 'ladder') {
    const ladder = RpcLadderParamsSchema.safeParse(params);
    return ladder.success ? { kind: 'ladder', id, callId: ladder.data.callId } : invalid(ladder.error);
  }
  const page = RpcPageParamsSchema.safeParse(params);
  if (!page.success) return invalid(page.error);
  return { kind: 'query', id, method, page: page.data };
}

/** One page of a listing as the agent's modules give it. */
export interface RowsPage<T> {
  readonly total: number;
  readonly rows: readonly T[];
}

/** Where the answers come from (the same views the admin API serves). */
export interface RpcViews {
  registrations(page: { offset: number; limit: number }): RowsPage<RegistrationRow>;
  calls(page: { offset: number; limit: number }): RowsPage<CallRow>;
  /** The media sessions of these calls (with counters and quality); none without anchored media. */
  sessionsFor(callIds: readonly string[]): Promise<readonly MediaSessionRow[]>;
  /** The SIP trace of one call (`trace/call-trace.ts`); undefined when none is kept. */
  ladder?(callId: string): CallTraceView | undefined;
}

/**
 * Serializes a page reply under `maxBytes`: all rows if they fit, else the longest prefix that
 * does, marked `truncated` (the caller continues from `offset + rows.length`). Pure.
 */
export function encodePageReply<T>(
  id: string,
  page: { total: number; offset: number; rows: readonly T[] },
  maxBytes: number,
): string {
  const render = (n: number) =>
    encode(RpcReplySchema, {
      v: 1,
      id,
      ok: true,
      result: {
        total: page.total,
        offset: page.offset,
        rows: page.rows.slice(0, n),
        truncated: n < page.rows.length,
      },
    });
  const size = (s: string) => Buffer.byteLength(s, 'utf8');
  const full = render(page.rows.length);
  if (size(full) <= maxBytes) return full;
  // Binary search for the most rows that fit; zero rows always fit (a few hundred bytes).
  let lo = 0;
  let hi = page.rows.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(render(mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return render(lo);
}

/**
 * Serializes a ladder reply under `maxBytes`: every message if it fits, else the newest that do
 * (the older ones counted in `dropped`, `truncated` set). Pure.
 */
export function encodeLadderReply(id: string, ladder: LadderResult, maxBytes: number): string {
  const render = (skip: number) =>
    encode(RpcReplySchema, {
      v: 1,
      id,
      ok: true,
      result: {
        ...ladder,
        messages: ladder.messages.slice(skip),
        dropped: ladder.dropped + skip,
        truncated: ladder.truncated || skip > 0,
      },
    });
  const size = (s: string) => Buffer.byteLength(s, 'utf8');
  let skip = 0;
  let out = render(0);
  // Bounded by the message count; each step drops the oldest message.
  while (size(out) > maxBytes && skip < ladder.messages.length) out = render(++skip);
  return out;
}

export interface RpcResponderDeps {
  readonly views: RpcViews;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default `RPC_MAX_REPLY_BYTES`. */
  readonly maxReplyBytes?: number;
  /** Queries answered at once; more are refused `unavailable` (default 4). */
  readonly maxInFlight?: number;
}

/** Answers live queries; `handle` returns the `reply` payload to publish, or null for none. */
export interface RpcResponder {
  handle(method: string, payload: Uint8Array): Promise<string | null>;
}

const INVALID_LOG_INTERVAL_MS = 60_000;
const DEFAULT_MAX_IN_FLIGHT = 4;

export function createRpcResponder(deps: RpcResponderDeps): RpcResponder {
  const log = deps.logger;
  const maxBytes = deps.maxReplyBytes ?? RPC_MAX_REPLY_BYTES;
  const invalidLog = new LogThrottle(INVALID_LOG_INTERVAL_MS);
  const maxInFlight = deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  let inFlight = 0;
  const refusal = (id: string, code: RpcErrorCode, message: string) =>
    encode(RpcReplySchema, { v: 1, id, ok: false, error: { code, message } } satisfies RpcReply);

  const answer = async (
    method: Exclude<RpcMethod, 'ladder'>,
    page: RpcPageParams,
  ): Promise<{ total: number; rows: unknown[] }> => {
    const now = deps.clock.now();
    if (method === 'registrations') {
      const p = deps.views.registrations(page);
      return { total: p.total, rows: p.rows.map((r): LiveRegistration => liveRegistration(r, now)) };
    }
    const p = deps.views.calls(page);
    const sessions = await deps.views.sessionsFor(p.rows.map((c) => c.callId));
    const byCall = new Map(sessions.map((s) => [s.callId, s]));
    return { total: p.total, rows: p.rows.map((c): LiveCall => liveCall(c, byCall.get(c.callId))) };
  };

  return {
    async handle(method, payload) {
      const decision = decideRpc(method, payload, deps.clock.now());
      switch (decision.kind) {
        case 'invalid': {
          const { log: now, suppressed } = invalidLog.take(deps.clock.now());
          if (now)
            log.warn(
              { method: method.slice(0, 64), error: decision.error, suppressed },
              'invalid rpc request dropped',
            );
          return null;
        }
        case 'expired':
          log.debug({ method, id: decision.id }, 'rpc request past its deadline ignored');
          return null;
        case 'refuse':
          log.info(
            { method: method.slice(0, 64), id: decision.id, code: decision.code },
            'rpc request refused',
          );
          return refusal(decision.id, decision.code, decision.message);
        case 'ladder': {
          const view = deps.views.ladder?.(decision.callId);
          try {
            const result = LadderResultSchema.parse(ladderResult(decision.callId, view));
            return encodeLadderReply(decision.id, result, maxBytes);
          } catch (e) {
            log.error({ err: e, method, id: decision.id }, 'rpc request failed');
            return refusal(decision.id, 'internal', 'the agent could not answer');
          }
        }
        case 'query': {
          const { id, page } = decision;
          // Reading media counters costs a driver round trip per call: a burst beyond the bound is
          // refused at once (the caller may retry), never queued here.
          if (inFlight >= maxInFlight)
            return refusal(id, 'unavailable', 'too many live queries at once; retry');
          inFlight++;
          try {
            const result = await answer(decision.method, page);
            // Nothing invalid leaves the agent: the control plane would refuse the whole page.
            const checked: { total: number; offset: number; rows: readonly unknown[] } = RPC_RESULT_SCHEMAS[
              decision.method
            ].parse({
              ...result,
              offset: page.offset,
              truncated: false,
            });
            return encodePageReply(id, checked, maxBytes);
          } catch (e) {
            log.error({ err: e, method, id }, 'rpc request failed');
            return refusal(id, 'internal', 'the agent could not answer');
          } finally {
            inFlight--;
          }
        }
      }
    },
  };
}
