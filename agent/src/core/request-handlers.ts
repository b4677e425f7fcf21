import type { SipRequest, SipResponse } from '../sip/message.js';
import type { InboundContext } from '../transport/channels.js';
import type { ServerTransaction } from '../transaction/types.js';

/**
 * A TU module for one method (registrar for REGISTER, proxy for INVITE/BYE/…). It must
 * eventually call `transaction.respond` with a final response.
 */
export type RequestHandler = (
  request: SipRequest,
  transaction: ServerTransaction,
  context: InboundContext,
  related: { readonly cancels?: ServerTransaction | undefined },
) => void;

/** Methods RFC 3261 and its extensions define; anything else is "not recognized" (§21.5.2). */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'REGISTER',
  'OPTIONS',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'INFO',
  'REFER',
  'MESSAGE',
  'UPDATE',
]);

/** What the proxy does with messages that match no transaction (§16.7, §16.11, §13.2.2.4). */
export interface StrayHandler {
  /** An ACK for a 2xx (end to end: routed like any in-dialog request). */
  onStrayAck(ack: SipRequest, context: InboundContext): void;
  /** A response matching no client transaction (a stateless forward's answer). */
  onStrayResponse(response: SipResponse, context: InboundContext): void;
}

/** Where the registrar and the proxy plug in: one handler per method, one for stray messages. */
export class RequestHandlerRegistry {
  private readonly handlers = new Map<string, RequestHandler>();
  stray: StrayHandler | undefined;

  register(method: string, handler: RequestHandler): void {
    if (this.handlers.has(method)) throw new Error(`a handler for ${method} is already registered`);
    this.handlers.set(method, handler);
  }

  get(method: string): RequestHandler | undefined {
    return this.handlers.get(method);
  }

  /** Methods with a handler (for Allow). */
  methods(): string[] {
    return [...this.handlers.keys()];
  }
}
