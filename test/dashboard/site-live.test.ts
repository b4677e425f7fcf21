import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, haveSipp, runSipp, startSipp } from '../../agent/test/helpers/sipp.js';
import { digestRegister } from '../../agent/test/sipp/register-scenarios.js';
import { apiClient, eventually } from '../helpers/api-client.js';
import {
  ADMIN,
  type Dashboard,
  haveChromium,
  screenshot,
  signIn,
  startDashboard,
  suiteTitle,
} from '../helpers/dashboard.js';
import { type CallAgent, startCallAgent, UAS_ADDR } from '../helpers/telemetry-fleet.js';

const CALL_UAC = fileURLToPath(new URL('../fleet/sipp/call-uac.xml', import.meta.url));
const CALL_UAS = fileURLToPath(new URL('../../bench/lib/sipp/call-uas.xml', import.meta.url));
/** Long enough to be seen in the live table (it polls every 2 s). */
const TALK_MS = 9_000;

/**
 * The site page's live tabs against a real agent and SIPp: a phone that registers appears under
 * Phones (asked live of the agent), a call in progress under Calls, then its record with the SIP
 * code, whose link opens the call page.
 */
describe.skipIf(!haveChromium || !haveSipp)(
  suiteTitle(`dashboard site page with real SIP traffic${haveSipp ? '' : ' — SKIPPED: sipp is missing'}`),
  () => {
    let dash: Dashboard;
    let agent: CallAgent | undefined;
    let orgId: string;
    let siteId: string;
    let agentId: string;

    beforeAll(async () => {
      dash = await startDashboard();
      const api = apiClient(dash.url);
      await api.auth.signIn.mutate({ ...ADMIN });
      orgId = (await api.organizations.create.mutate({ name: 'Live Org' })).id;
      siteId = (await api.sites.create.mutate({ organizationId: orgId, name: 'Live site' })).id;
      const created = await api.agents.create.mutate({ siteId, name: 'live-fw' });
      agentId = created.agent.id;
      agent = await startCallAgent(dash.dir, 'live', dash.url, created.enrollmentToken, [
        { user: 'alice', password: 'alice-pw-1234' },
      ]);
      await eventually('agent online', async () => (await api.agents.get.query({ agentId })).online, 30_000);
    }, 90_000);

    afterAll(async () => {
      await agent?.agent.stop().catch(() => {});
      await dash?.stop();
    });

    it('a registered phone under Phones, a live call under Calls, then its record and call page', {
      timeout: 90_000,
    }, async () => {
      const page = await dash.newPage();
      try {
        await page.goto(`${dash.url}/orgs/${orgId}/sites/${siteId}/phones`);
        await signIn(page, ADMIN.email, ADMIN.password);
        await page.getByText('No phone is registered.').waitFor();

        const domain = 'live.example.test';
        const reg = await runSipp({
          scenario: {
            xml: digestRegister({ user: 'alice', domain, password: 'alice-pw-1234' }),
            name: 'alice.xml',
          },
          dir: dash.dir,
          remote: agent!.inside,
          authUri: domain,
        });
        expect(reg.code, reg.output).toBe(0);
        const phones = page.getByTestId(`phones-${agentId}`);
        await phones.getByText(`sip:alice@${domain}`).waitFor({ timeout: 15_000 });
        expect(await phones.textContent()).toContain('UDP');
        await screenshot(page, 'site-live', '1-phones');

        // A call that talks for a while, through the agent.
        // The callee waits for the BYE longer than the call talks.
        const calleePort = await freeUdpPort(UAS_ADDR);
        const callee = await startSipp({
          scenario: { file: CALL_UAS },
          dir: dash.dir,
          localIp: UAS_ADDR,
          localPort: calleePort,
          calls: 1,
          timeoutSec: 40,
          recvTimeoutMs: TALK_MS + 10_000,
        });
        await new Promise((r) => setTimeout(r, 300));
        const longCall = readFileSync(CALL_UAC, 'utf8').replace(
          '<pause milliseconds="1200"/>',
          `<pause milliseconds="${TALK_MS}"/>`,
        );
        expect(longCall).toContain(`milliseconds="${TALK_MS}"`);
        await page.getByRole('link', { name: 'Calls', exact: true }).click();
        await page.getByRole('heading', { name: 'Recent calls' }).waitFor();
        const caller = await startSipp({
          scenario: { xml: longCall, name: 'long-call.xml' },
          dir: dash.dir,
          remote: agent!.inside,
          localIp: '127.0.0.1',
          calls: 1,
          timeoutSec: 40,
          recvTimeoutMs: 15_000,
          extraArgs: ['-s', 'bob', '-key', 'uas_target', `${UAS_ADDR}:${calleePort}`],
        });
        try {
          const live = page.getByTestId(`live-calls-${agentId}`);
          await live.getByText('talking').waitFor({ timeout: 8_000 });
          expect(await live.textContent()).toContain('sip:bob@');
          await screenshot(page, 'site-live', '2-active-call');
          const run = await caller.done;
          expect(run.code, run.output).toBe(0);
        } finally {
          caller.kill();
          callee.kill();
        }

        // Ended: gone from the live table, in the records with its SIP code; its link opens the call page.
        const recent = page.getByTestId('recent-calls');
        await recent.getByText('answered').waitFor({ timeout: 20_000 });
        expect(await recent.textContent()).toContain('200');
        await screenshot(page, 'site-live', '3-recent-calls');
        await recent.getByRole('link').first().click();
        await page.getByTestId('call-record').waitFor();
        expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/orgs/${orgId}/calls/`));
        expect(await page.getByTestId('call-record').textContent()).toContain('answered');
        await screenshot(page, 'site-live', '4-call-page');
        // The call page survives a reload (its Call-ID has dots and an @).
        await page.reload();
        await page.getByTestId('call-record').waitFor();
      } finally {
        await page.close();
      }
    });
  },
);
