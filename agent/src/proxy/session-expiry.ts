/**
 * What the proxy does when a call's session timer (RFC 4028) runs out: it tears the call down —
 * a BYE to each party, as the other party would have sent it, through the proxy's own forwarding
 * (so NAT rewriting and topology hiding apply as to any BYE), and the call's media closes with it.
 *
 * RFC 4028 §8.3 lets a plain proxy only forget the session; the agent is the site's firewall and
 * owns the media pinholes, so it acts as session border controllers do: a call nobody refreshes
 * (a phone that crashed, a lost BYE) must not keep a pinhole open and a call counted for hours.
 *
 * For that it keeps, per dialog with a session timer, each party's view of the dialog as the
 * proxy forwarded it: the target and route set that party would use, its From/To/Call-ID.
 */
import { randomBytes } from 'node:crypto';
import type { Flow } from './hiding.js';
import type { Clock } from '../util/clock.js';
import { SessionTimerTable } from './session-timer-table.js';

/** One party's view of a dialog: everything a BYE from it carries. */
export interface DialogView {
  /** The interface the party is on. */
  readonly interfaceName: string;
  /** Where the party's requests come from. */
  readonly source: Flow;
  /** The remote target the party would send to (the other side's Contact as the party got it). */
  readonly requestUri: string;
  /** The party's route set (Route values, in order). */
  readonly routes: readonly string[];
  /** From with the party's tag, To with the other party's tag, Call-ID: as the party knows them. */
  readonly from: string;
  readonly to: string;
  readonly callId: string;
  /** The party's last CSeq number seen for the dialog. */
  readonly cseq: number;
}

/** Called when a dialog's session expired, with both parties' views (when they were recorded). */
export type OnSessionExpired = (key: string, views: readonly [DialogView, DialogView] | undefined) => void;

/** How far above a party's last CSeq the agent's BYE for it goes (re-INVITEs it did not see). */
const CSEQ_STEP = 1000;

export class SessionExpiry {
  private readonly table: SessionTimerTable;
  private readonly views = new Map<string, readonly [DialogView, DialogView]>();
  expired = 0;

  constructor(clock: Clock, onExpired: OnSessionExpired) {
    this.table = new SessionTimerTable(clock, (key) => {
      const views = this.views.get(key);
      this.views.delete(key);
      this.expired++;
      onExpired(key, views);
    });
  }

  /** Dialogs with a running session timer. */
  get size(): number {
    return this.table.size;
  }

  /** A 2xx established or refreshed the session: (re)arm, keeping the views of the first one. */
  track(key: string, intervalSec: number, views?: readonly [DialogView, DialogView]): void {
    if (views !== undefined && !this.views.has(key)) this.views.set(key, views);
    this.table.arm(key, intervalSec);
  }

  /** The session ended (BYE, failure) or its timer was turned off (a 2xx without one). */
  end(key: string): void {
    this.table.disarm(key);
    this.views.delete(key);
  }

  /** Stops every timer without firing. */
  clear(): void {
    this.table.clear();
    this.views.clear();
  }
}

/** The BYE `view`'s party would send to end the dialog (RFC 3261 §15.1.1), with a Reason (RFC 3326). */
export function byeFrom(view: DialogView): Buffer {
  const host = view.source.address.includes(':') ? `[${view.source.address}]` : view.source.address;
  const branch = `z9hG4bK-sx${randomBytes(8).toString('hex')}`;
  const lines = [
    `BYE ${view.requestUri} SIP/2.0`,
    `Via: SIP/2.0/${view.source.protocol.toUpperCase()} ${host}:${view.source.port};branch=${branch}`,
    'Max-Forwards: 70',
    ...view.routes.map((r) => `Route: ${r}`),
    `From: ${view.from}`,
    `To: ${view.to}`,
    `Call-ID: ${view.callId}`,
    `CSeq: ${Math.min(view.cseq + CSEQ_STEP, 2 ** 31 - 1)} BYE`,
    'Reason: SIP;cause=408;text="session expired"',
    'Content-Length: 0',
    '',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
