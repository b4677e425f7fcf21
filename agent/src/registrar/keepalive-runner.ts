import type { SipStack } from '../core/sip-stack.js';
import { parseUri } from '../sip/uri.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Binding } from './binding.js';
import { keepAliveOptions } from './keepalive-request.js';
import { needsKeepAlive, nextPingStep, type PingState } from './keepalive-plan.js';
import type { LocationStore } from './location-store.js';

/** Far-end NAT keep-alive settings; interval and failures come from `sip.registrar.keepAlive*` in the config. */
export interface KeepAliveOptions {
  /** Time between pings to one binding. */
  readonly intervalMs: number;
  /** Consecutive unanswered pings after which the binding is dropped. */
  readonly maxFailures: number;
  /** Most bindings pinged per tick (bounds the work of one tick). */
  readonly maxPerTick: number;
}

/**
 * Defaults matching the config schema's (`keepAliveIntervalSec: 25`, `keepAliveMaxFailures: 3`):
 * 25 s keeps common UDP NAT mappings (30 s+) open.
 */
export const DEFAULT_KEEPALIVE: KeepAliveOptions = { intervalMs: 25_000, maxFailures: 3, maxPerTick: 20_000 };

export interface KeepAliveDeps {
  readonly clock: Clock;
  readonly stack: SipStack;
  /** Stores to watch (main and passive bindings). */
  readonly stores: readonly LocationStore[];
  /** Domain for the pings' From. */
  readonly fromDomain: () => string;
  /** A binding was dropped because its phone stopped answering. */
  readonly onDropped: (binding: Binding, store: LocationStore) => void;
  readonly logger: { debug(obj: object, msg: string): void };
}

interface Tracked extends PingState {
  readonly seq: number;
}

const keyOf = (b: Binding) => `${b.aor}\u0000${b.key}`;

/**
 * Pings NATed bindings (`needsKeepAlive`) through their flow with OPTIONS every `intervalMs`:
 * any response, even an error status, proves the phone and its NAT mapping alive (RFC 5626
 * §4.4 keeps flows alive the same way). A ping unanswered by the next tick counts as a failure;
 * `maxFailures` in a row remove the binding (the proxy could not reach the phone anyway).
 * Over TCP/TLS the same OPTIONS travel on the connection the phone opened.
 */
export function startKeepAlive(options: KeepAliveOptions, deps: KeepAliveDeps): { stop(): void } {
  const state = new Map<string, Tracked>();
  let seq = 0;
  let handle: TimerHandle | undefined;
  let stopped = false;

  const ping = (b: Binding, failures: number): void => {
    const local = deps.stack
      .listening()
      .find(
        (l) => l.transport === b.flow.transport && l.address.includes(':') === b.flow.address.includes(':'),
      );
    if (local === undefined) return;
    const mySeq = ++seq;
    const key = keyOf(b);
    state.set(key, { seq: mySeq, failures, outstanding: mySeq });
    const request = keepAliveOptions(
      b,
      local,
      { branch: deps.stack.ids.branch(), tag: deps.stack.ids.tag() },
      deps.fromDomain(),
    );
    if (request === undefined) return;
    deps.stack.sendRequest(
      request,
      {
        protocol: b.flow.transport === 'ws' ? 'tcp' : b.flow.transport,
        destination: { address: b.flow.address, port: b.flow.port },
        interfaceName: local.interface,
      },
      {
        onResponse(_response, synthetic) {
          // A synthetic 408/503 is no answer: leave it outstanding, the next tick counts it.
          if (synthetic !== undefined) return;
          const s = state.get(key);
          if (s?.outstanding === mySeq) state.set(key, { seq: s.seq, failures: 0, outstanding: undefined });
        },
      },
    );
  };

  const tick = (): void => {
    if (stopped) return;
    const seen = new Set<string>();
    let budget = options.maxPerTick;
    for (const store of deps.stores) {
      for (const b of [...store.all()]) {
        if (budget <= 0) break;
        if (b.flow.transport === 'ws' || !needsKeepAlive(b, parseUri(b.contact))) continue;
        budget--;
        const key = keyOf(b);
        seen.add(key);
        const s = state.get(key) ?? { seq: 0, failures: 0, outstanding: undefined };
        const { step, failures } = nextPingStep(s, options.maxFailures);
        if (step === 'drop') {
          state.delete(key);
          seen.delete(key);
          deps.logger.debug(
            { aor: b.aor, failures },
            'NAT keep-alive: phone stopped answering, binding dropped',
          );
          if (store.remove(b.aor, b.key) !== undefined) deps.onDropped(b, store);
          continue;
        }
        ping(b, failures);
      }
    }
    for (const key of state.keys()) if (!seen.has(key)) state.delete(key);
    handle = deps.clock.setTimeout(tick, options.intervalMs);
  };
  handle = deps.clock.setTimeout(tick, options.intervalMs);
  return {
    stop() {
      stopped = true;
      if (handle !== undefined) deps.clock.clearTimeout(handle);
    },
  };
}
