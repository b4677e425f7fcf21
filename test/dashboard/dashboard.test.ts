import type { SpawnedAgent } from '../../agent/test/helpers/spawn-agent.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/api-client.js';
import {
  ADMIN,
  type Dashboard,
  haveChromium,
  ONLINE_TIMEOUT_MS,
  screenshot,
  signIn,
  startDashboard,
  suiteTitle,
} from '../helpers/dashboard.js';

/**
 * The dashboard's main path in a real browser against a real agent process: sign in, create an
 * organization, a site and an agent through the UI, enroll the agent with the token shown once,
 * and watch it go online on the site page and in the organization overview, then see a pushed
 * config applied and the agent go offline — all without a reload.
 */
describe.skipIf(!haveChromium)(suiteTitle('dashboard in a real browser'), () => {
  let dash: Dashboard;
  let agent: SpawnedAgent | undefined;

  beforeAll(async () => {
    dash = await startDashboard();
  }, 60_000);

  afterAll(async () => {
    await dash?.stop();
  });

  it('a wrong password shows the server error in words and stays on the sign-in form', async () => {
    const page = await dash.newPage();
    try {
      await page.goto(dash.url);
      await signIn(page, ADMIN.email, 'not the password');
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('wrong email or password');
      expect(await page.getByLabel('Password').isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
      await screenshot(page, 'dashboard-sign-in-error', 'error');
    } finally {
      await page.close();
    }
  });

  // Generous: bounded waits on a real agent process, on a possibly busy CI machine.
  it('creates an organization, site and agent, sees the agent online live (site page and overview), a pushed config applied, and the agent offline', {
    timeout: 120_000,
  }, async () => {
    const page = await dash.newPage();
    try {
      const favicon = await page.request.get(`${dash.url}/favicon.ico`);
      expect(favicon.status()).toBe(200);

      await page.goto(dash.url);
      await signIn(page, ADMIN.email, ADMIN.password);
      await page.getByRole('heading', { name: 'No organizations yet' }).waitFor();
      await screenshot(page, 'dashboard-main', '1-empty');

      await page.getByLabel('New organization').fill('Acme Telecom');
      await page.getByRole('button', { name: 'Create organization' }).click();
      await page.getByRole('heading', { name: 'Acme Telecom' }).waitFor();
      const orgId = new URL(page.url()).pathname.split('/')[2] ?? '';
      expect(orgId).toMatch(/^[0-9a-f-]{36}$/);

      await page.getByLabel('New site').fill('Berlin office');
      await page.getByRole('button', { name: 'Add site' }).click();
      await page.getByRole('heading', { name: 'Berlin office' }).waitFor();
      const siteId = new URL(page.url()).pathname.split('/')[4] ?? '';
      expect(siteId).toMatch(/^[0-9a-f-]{36}$/);

      await page.getByLabel('New agent').fill('edge-fw-1');
      await page.getByRole('button', { name: 'Add agent' }).click();
      const token = (await page.getByTestId('enrollment-token-value').textContent())?.trim() ?? '';
      expect(token.length).toBeGreaterThanOrEqual(16);
      expect(await page.locator('pre.snippet').textContent()).toContain(`enrollmentToken: ${token}`);

      const statusCell = page.locator('[data-testid^="agent-status-"]');
      await statusCell.waitFor();
      const agentId = ((await statusCell.getAttribute('data-testid')) ?? '').replace('agent-status-', '');
      expect(agentId).toMatch(/^[a-z0-9][a-z0-9-]{2,63}$/);
      expect((await statusCell.textContent())?.trim()).toBe('not enrolled');
      await screenshot(page, 'dashboard-main', '2-agent-added');

      // Marks this document, so we can tell later that the page was never reloaded.
      await page.evaluate(() => {
        (globalThis as unknown as { __noReload: boolean }).__noReload = true;
      });
      agent = dash.startAgent(token);
      const status = page.getByTestId(`agent-status-${agentId}`);
      await status
        .getByText('online', { exact: true })
        .waitFor({ timeout: ONLINE_TIMEOUT_MS })
        .catch((e: Error) => {
          throw new Error(`agent never showed online: ${e.message}\n${agent?.stdout()}${agent?.stderr()}`);
        });
      // Online means online: no "last seen … ago" beside it, and no raw "standalone" report.
      expect(await status.textContent()).toBe('online');
      expect(await page.getByTestId(`agent-version-${agentId}`).textContent()).toBe('no config pushed yet');
      await screenshot(page, 'dashboard-main', '3-agent-online');

      // The organization overview shows the connected agent online.
      await page.getByRole('link', { name: 'Acme Telecom' }).click();
      const agentsCell = page.getByTestId(`site-agents-${siteId}`);
      await agentsCell.getByText('1/1 online').waitFor();
      await screenshot(page, 'dashboard-main', '4-overview-online');

      // A config change (through the API; the forms are the changes engineer's) shows up as applied, live.
      const api = apiClient(dash.url);
      await api.auth.signIn.mutate({ ...ADMIN });
      await api.sites.setConfig.mutate({
        siteId,
        config: { domains: ['sip.acme.example', 'pbx.acme.example'], logLevel: 'debug' },
      });
      await page.getByRole('link', { name: 'Berlin office' }).click();
      await page
        .getByTestId(`agent-version-${agentId}`)
        .getByText('applied', { exact: true })
        .waitFor({ timeout: ONLINE_TIMEOUT_MS })
        .catch((e: Error) => {
          throw new Error(`agent never reported applied: ${e.message}\n${agent?.stderr()}`);
        });
      expect(await page.getByTestId(`agent-version-${agentId}`).textContent()).toContain('v1');

      // The agent page: presence and versions.
      await page.getByRole('link', { name: 'edge-fw-1' }).click();
      await page.getByRole('heading', { name: 'edge-fw-1' }).waitFor();
      expect(await page.getByTestId('agent-presence').textContent()).toBe('online');
      await screenshot(page, 'dashboard-main', '5-agent-page');

      // A stopped agent announces `offline`; the page follows (with when it was last seen).
      await agent.stop();
      await page.getByTestId('agent-presence').getByText('offline').waitFor({ timeout: ONLINE_TIMEOUT_MS });
      expect(await page.getByTestId('agent-presence').textContent()).toMatch(/offline\s*last seen/);
      expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(
        true,
      );
      await screenshot(page, 'dashboard-main', '6-agent-offline');
    } finally {
      await page.close();
    }
  });
});
