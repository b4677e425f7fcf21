/**
 * The control-plane operations bench/fleet needs, through the public API only: tRPC over HTTP with
 * a signed-in operator's cookie, and `POST /api/enroll` as an agent calls it.
 */
import type { AppRouter } from '@sipwall/control-plane';
import { EnrollResponseSchema } from '@sipwall/shared';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { SimCredentials } from './sim-agent.js';

export interface FleetApi {
  createOrganization(name: string): Promise<string>;
  createSite(organizationId: string, name: string): Promise<string>;
  /** Creates an agent and trades its one-time token for MQTT credentials. */
  createAndEnrollAgent(siteId: string, name: string): Promise<SimCredentials>;
  countOnline(organizationId: string): Promise<number>;
  /** One organization-wide policy change; resolves with the version agents must reach, if known. */
  bulkPolicyChange(organizationId: string, siteIds: readonly string[]): Promise<number | null>;
  /** Agents whose latest desired version is reported applied (`configState`). */
  countApplied(organizationId: string, version: number | null): Promise<number>;
  /** Call records the control plane stored for the organization (its hourly roll-ups). */
  countCallRecords(organizationId: string): Promise<number>;
}

export async function fleetApi(
  baseUrl: string,
  admin: { email: string; password: string },
): Promise<FleetApi> {
  let cookie = '';
  const trpc = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${baseUrl}/trpc`,
        maxItems: 50,
        headers: () => (cookie ? { cookie, origin: baseUrl } : { origin: baseUrl }),
        fetch: async (input, init) => {
          const res = await fetch(input, init as RequestInit);
          const setCookie = res.headers.get('set-cookie');
          if (setCookie) cookie = setCookie.split(';')[0] ?? '';
          return res;
        },
      }),
    ],
  });
  await trpc.auth.signIn.mutate(admin);
  let policyRound = 0;

  return {
    async createOrganization(name) {
      return (await trpc.organizations.create.mutate({ name })).id;
    },
    async createSite(organizationId, name) {
      return (await trpc.sites.create.mutate({ organizationId, name })).id;
    },
    async createAndEnrollAgent(siteId, name) {
      const created = await trpc.agents.create.mutate({ siteId, name });
      const res = await fetch(`${baseUrl}/api/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: created.enrollmentToken, agentVersion: 'bench-sim' }),
      });
      if (!res.ok) throw new Error(`enroll ${name}: HTTP ${res.status} ${await res.text()}`);
      const body = EnrollResponseSchema.parse(await res.json());
      return {
        agentId: body.agentId,
        mqttUrl: body.mqtt.url,
        username: body.mqtt.username,
        password: body.mqtt.password,
      };
    },
    async countOnline(organizationId) {
      const list = await trpc.agents.list.query({ organizationId });
      return list.filter((a) => a.online).length;
    },
    async bulkPolicyChange(organizationId, _siteIds) {
      // One organization-wide policy change: every site recompiles and every agent gets a version.
      policyRound++;
      await trpc.organizations.setConfig.mutate({
        organizationId,
        policies: { bruteForce: { maxFailures: 10 + policyRound } },
      });
      return null;
    },
    async countApplied(organizationId, _version) {
      const list = await trpc.agents.list.query({ organizationId });
      return list.filter((a) => a.configState === 'applied').length;
    },
    async countCallRecords(organizationId) {
      const now = Date.now();
      const points = await trpc.stats.series.query({
        target: { scope: 'organization', organizationId },
        from: new Date(now - 3 * 3600_000).toISOString(),
        to: new Date(now + 3600_000).toISOString(),
        bucket: 'hour',
      });
      return points.reduce((sum, p) => sum + p.calls, 0);
    },
  };
}
