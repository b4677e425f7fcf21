/**
 * STUB created by the shell engineer — the insight engineer replaces this file with the real
 * component (same name and props). It renders a small "not built yet" note.
 */
import { createElement } from 'react';

export function CallLadder(_props: { organizationId: string; agentId: string; callId: string }) {
  return createElement('p', { className: 'not-built' }, 'Call ladder: not built yet');
}
