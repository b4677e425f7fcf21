import pino from 'pino';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { type TimerConfig, timerValues } from '../../src/transaction/timers.js';
import type { ClientChannel, ServerChannel, TransactionContext } from '../../src/transaction/types.js';
import type { ManualClock } from '../../src/util/clock.js';

export const T: TimerConfig = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 };
export const silent = pino({ level: 'silent' });

export function context(clock: ManualClock, reliable: boolean): TransactionContext {
  return { clock, timers: timerValues(T, reliable), logger: silent };
}

/** Records every send with the clock time it happened at. */
export class RecordingChannel implements ServerChannel, ClientChannel {
  readonly responses: { at: number; response: SipResponse }[] = [];
  readonly requests: { at: number; request: SipRequest }[] = [];
  failWith: Error | undefined;

  constructor(
    private readonly clock: ManualClock,
    readonly reliable = false,
  ) {}

  sendResponse(response: SipResponse): Promise<void> {
    this.responses.push({ at: this.clock.now(), response });
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve();
  }

  sendRequest(request: SipRequest): Promise<void> {
    this.requests.push({ at: this.clock.now(), request });
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve();
  }
}

export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
