import type { LadderMessage } from '../../trpc.js';

/** The four lifelines: the inside phone, the agent's inside and outside sides, the outside party. */
export const LANES = ['Inside phone', 'Agent (inside)', 'Agent (outside)', 'Outside party'] as const;
export type Lane = 0 | 1 | 2 | 3;

export interface Arrow {
  readonly index: number;
  readonly from: Lane;
  readonly to: Lane;
  /** `INVITE`, `180 Ringing`, … */
  readonly label: string;
  /** `+0.012 s` from the call's first message. */
  readonly offset: string;
  readonly message: LadderMessage;
}

/** Where a message is drawn (pure): inside leg between lanes 0 and 1, outside leg between 2 and 3. */
export function arrowLanes(m: Pick<LadderMessage, 'role' | 'direction'>): { from: Lane; to: Lane } {
  if (m.role === 'inside') return m.direction === 'in' ? { from: 0, to: 1 } : { from: 1, to: 0 };
  return m.direction === 'in' ? { from: 3, to: 2 } : { from: 2, to: 3 };
}

export function labelOf(m: Pick<LadderMessage, 'method' | 'status' | 'reason' | 'cseqMethod'>): string {
  if (m.method !== null) return m.method;
  return `${m.status ?? '?'} ${m.reason ?? ''}`.trim();
}

export function formatOffset(ms: number): string {
  return `+${(ms / 1000).toFixed(3)} s`;
}

/** The ladder's arrows, in the order the agent saw the messages. */
export function arrowsOf(messages: readonly LadderMessage[]): Arrow[] {
  const first = messages.length === 0 ? 0 : Date.parse(messages[0]!.at);
  return messages.map((m, index) => ({
    index,
    ...arrowLanes(m),
    label: labelOf(m),
    offset: formatOffset(Date.parse(m.at) - first),
    message: m,
  }));
}

/** Each side's party as the first message of that leg names it (`ip:port`), if any. */
export function partiesOf(messages: readonly LadderMessage[]): { inside?: string; outside?: string } {
  const inside = messages.find((m) => m.role === 'inside')?.peer;
  const outside = messages.find((m) => m.role === 'outside')?.peer;
  return { ...(inside ? { inside } : {}), ...(outside ? { outside } : {}) };
}

/**
 * Whether the call is over as far as the trace shows: an INVITE answered with a final failure
 * (≥ 300) or a BYE/CANCEL answered with a final response, seen on every leg that has messages.
 */
export function isFinished(messages: readonly LadderMessage[]): boolean {
  const legs = new Set(messages.map((m) => m.role));
  if (legs.size === 0) return false;
  for (const leg of legs) {
    const done = messages.some(
      (m) =>
        m.role === leg &&
        m.status !== null &&
        ((m.cseqMethod === 'INVITE' && m.status >= 300) ||
          ((m.cseqMethod === 'BYE' || m.cseqMethod === 'CANCEL') && m.status >= 200)),
    );
    if (!done) return false;
  }
  return true;
}
