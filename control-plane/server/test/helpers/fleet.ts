import { type EnrollResponse, EnrollResponseSchema } from '@sipwall/shared';
import { insertSipUser } from '../../src/db/queries/fleet-config.js';
import type { SignedIn, TestControlPlane } from './control-plane.js';

/** An org with one site, owned by a fresh operator. */
export async function createFleet(cp: TestControlPlane, email: string) {
  const owner: SignedIn = await cp.operator(email);
  const org = await owner.api.organizations.create({ name: `org of ${email}` });
  const site = await owner.api.sites.create({ organizationId: org.id, name: 'site' });
  return { owner, org, site };
}

/** POSTs /api/enroll. */
export function postEnroll(cp: TestControlPlane, body: unknown): Promise<Response> {
  return fetch(`${cp.url}/api/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Creates an agent and enrolls it; returns its MQTT credentials. */
export async function enrolledAgent(cp: TestControlPlane, owner: SignedIn, siteId: string, name: string) {
  const { agent, enrollmentToken } = await owner.api.agents.create({ siteId, name });
  const resp = await postEnroll(cp, { token: enrollmentToken, agentVersion: 'test-1.0' });
  if (resp.status !== 200) throw new Error(`enroll failed: ${resp.status} ${await resp.text()}`);
  const creds: EnrollResponse = EnrollResponseSchema.parse(await resp.json());
  return { agentId: agent.id, creds };
}

/**
 * An enabled user `legacy@c.example` in `siteId`, written behind the API's back (as if from before
 * the domain rule): no test site serves c.example, so the site no longer compiles until it goes.
 */
export function insertStrandedUser(cp: TestControlPlane, siteId: string) {
  return insertSipUser(cp.database.db, {
    siteId,
    username: 'legacy',
    domain: 'c.example',
    displayName: '',
    enabled: true,
    algorithms: null,
    ha1Md5: '0'.repeat(32),
    ha1Sha256: '0'.repeat(64),
  });
}
