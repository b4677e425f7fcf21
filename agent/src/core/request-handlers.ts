import type { SipRequest } from '../sip/message.js';
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

/** Where the registrar and the proxy plug in later: one handler per method. */
export class RequestHandlerRegistry {
  private readonly handlers = new Map<string, RequestHandler>();

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
