import { Link } from 'wouter';
import { sitePath } from '../lib/route-links.js';
import { SipUserDetail } from '../views/changes/index.js';
import { OrgGate } from './OrgGate.js';

/** `/orgs/:orgId/sites/:siteId/users/:userId` — one SIP user. */
export function SipUserPage({ orgId, siteId, userId }: { orgId: string; siteId: string; userId: string }) {
  return (
    <OrgGate orgId={orgId}>
      {({ role }) => (
        <section className="page">
          <p className="breadcrumb">
            <Link href={sitePath(orgId, siteId, 'users')}>← SIP users of the site</Link>
          </p>
          <SipUserDetail organizationId={orgId} siteId={siteId} userId={userId} role={role} />
        </section>
      )}
    </OrgGate>
  );
}
