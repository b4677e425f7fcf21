import { useSearch } from 'wouter';
import { CallLadder } from '../views/ladder/index.js';
import { OrgGate } from './OrgGate.js';

/** `/orgs/:orgId/calls/:callId?agent=:agentId` — one call: its record and its SIP ladder. */
export function CallPage({ orgId, callId }: { orgId: string; callId: string }) {
  const agentId = new URLSearchParams(useSearch()).get('agent');
  return (
    <OrgGate orgId={orgId}>
      {() => (
        <section className="page">
          <h1>Call {callId}</h1>
          {agentId ? (
            <CallLadder organizationId={orgId} agentId={agentId} callId={callId} />
          ) : (
            <p className="empty">
              The link names no agent (?agent=…), so the call's trace cannot be fetched.
            </p>
          )}
        </section>
      )}
    </OrgGate>
  );
}
