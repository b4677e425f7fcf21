import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/api-client.js';
import {
  ADMIN,
  type Dashboard,
  haveChromium,
  screenshot,
  signIn,
  startDashboard,
  suiteTitle,
} from '../helpers/dashboard.js';

/**
 * The dashboard's URLs and accounts in a real browser: deep links before and after sign-in,
 * reload, back/forward, sign-out (and a lost session) stopping every request, and a viewer who
 * sees no change controls and whose mutations the server refuses.
 */
describe.skipIf(!haveChromium)(suiteTitle('dashboard navigation and accounts'), () => {
  let dash: Dashboard;
  let orgId: string;
  let siteA: { id: string; name: string };
  let siteB: { id: string; name: string };

  beforeAll(async () => {
    dash = await startDashboard();
    const api = apiClient(dash.url);
    await api.auth.signIn.mutate({ ...ADMIN });
    const org = await api.organizations.create.mutate({ name: 'Navigation Org' });
    orgId = org.id;
    siteA = await api.sites.create.mutate({ organizationId: orgId, name: 'Alpha office' });
    siteB = await api.sites.create.mutate({ organizationId: orgId, name: 'Bravo branch' });
  }, 60_000);

  afterAll(async () => {
    await dash?.stop();
  });

  /** Requests to the control plane's API (not assets) made by `page` from now on. */
  function countApiRequests(page: Page): { count: () => number; urls: () => string[] } {
    const seen: string[] = [];
    page.on('request', (r: Request) => {
      if (new URL(r.url()).pathname.startsWith('/trpc')) seen.push(r.url());
    });
    return { count: () => seen.length, urls: () => [...seen] };
  }

  it('a deep link opened signed out shows sign-in, then lands there; reload and back/forward keep the view', async () => {
    const page = await dash.newPage();
    try {
      const deep = `${dash.url}/orgs/${orgId}/sites/${siteB.id}/security`;
      await page.goto(deep);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await screenshot(page, 'navigation-deep-link', '1-sign-in');
      await signIn(page, ADMIN.email, ADMIN.password);
      await page.getByRole('heading', { name: 'Bravo branch' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/orgs/${orgId}/sites/${siteB.id}/security`);
      const securityTab = page.getByRole('navigation', { name: 'Site sections' }).getByRole('link', {
        name: 'Security',
      });
      expect(await securityTab.getAttribute('aria-current')).toBe('page');
      await page.getByText('No security events.').waitFor();
      await screenshot(page, 'navigation-deep-link', '2-landed');
      expect(await page.title()).toBe('Security · Bravo branch · Navigation Org · sipwall');

      // Reload: same site, same tab, still signed in.
      await page.reload();
      await page.getByRole('heading', { name: 'Bravo branch' }).waitFor();
      expect(await securityTab.getAttribute('aria-current')).toBe('page');

      // Tabs are links: navigate to Calls, then to the organization, then back and forward.
      await page.getByRole('link', { name: 'Calls', exact: true }).click();
      await page.getByRole('heading', { name: 'Recent calls' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/orgs/${orgId}/sites/${siteB.id}/calls`);
      await page.getByRole('link', { name: 'Navigation Org' }).click();
      await page.getByRole('link', { name: 'Alpha office' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/orgs/${orgId}`);
      await screenshot(page, 'navigation-deep-link', '3-overview');
      // Search narrows the table; a filter with nothing to show says so.
      await page.getByLabel('Search sites').fill('brav');
      await page.getByRole('link', { name: 'Alpha office' }).waitFor({ state: 'detached' });
      expect(await page.getByRole('link', { name: 'Bravo branch' }).isVisible()).toBe(true);
      await page.getByLabel('Search sites').fill('');
      await page.getByLabel('Show').selectOption('offline');
      await page.getByText('No site matches the search and filter.').waitFor();
      await page.getByLabel('Show').selectOption('problems');
      // Sites without an agent are a problem to look at.
      await page.getByRole('link', { name: 'Alpha office' }).waitFor();
      // Search and filter are in the URL: a reload keeps them.
      await page.getByLabel('Search sites').fill('alpha');
      await page.getByRole('link', { name: 'Bravo branch' }).waitFor({ state: 'detached' });
      expect(new URL(page.url()).search).toBe('?q=alpha&show=problems');
      await page.reload();
      await page.getByRole('link', { name: 'Alpha office' }).waitFor();
      expect(await page.getByLabel('Show').inputValue()).toBe('problems');
      expect(await page.getByLabel('Search sites').inputValue()).toBe('alpha');
      expect(await page.getByRole('link', { name: 'Bravo branch' }).count()).toBe(0);
      await page.getByLabel('Search sites').fill('');
      await page.getByLabel('Show').selectOption('all');
      await page.getByRole('link', { name: 'Bravo branch' }).waitFor();

      await page.goBack();
      await page.getByRole('heading', { name: 'Recent calls' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/orgs/${orgId}/sites/${siteB.id}/calls`);
      await page.goBack();
      await page.getByText('No security events.').waitFor();
      expect(new URL(page.url()).pathname).toBe(`/orgs/${orgId}/sites/${siteB.id}/security`);
      await page.goForward();
      await page.getByRole('heading', { name: 'Recent calls' }).waitFor();

      // Keyboard: the first tab link is reachable and focus is visible on it.
      const overviewTab = page.getByRole('navigation', { name: 'Site sections' }).getByRole('link', {
        name: 'Overview',
      });
      await overviewTab.focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Agents' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/orgs/${orgId}/sites/${siteB.id}`);

      // An unknown page is said in words, inside the app.
      await page.goto(`${dash.url}/no/such/page`);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    } finally {
      await page.close();
    }
  });

  it('sign-out shows the sign-in form at once and makes no further request for 5 s', async () => {
    const page = await dash.newPage();
    try {
      await page.goto(`${dash.url}/orgs/${orgId}`);
      await signIn(page, ADMIN.email, ADMIN.password);
      await page.getByRole('link', { name: 'Alpha office' }).waitFor();
      // The overview polls; let it poll at least once.
      await page.waitForTimeout(1_000);
      const requests = countApiRequests(page);
      const clickedAt = Date.now();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 2_000 });
      expect(Date.now() - clickedAt).toBeLessThan(2_000);
      await screenshot(page, 'navigation-sign-out', 'signed-out');
      const afterSignOut = requests.count();
      await page.waitForTimeout(5_000);
      expect(requests.urls().slice(afterSignOut), 'requests after sign-out').toEqual([]);
      // The sign-out itself was one request (plus at most a poll already in flight).
      expect(afterSignOut).toBeLessThanOrEqual(3);
    } finally {
      await page.close();
    }
  });

  it('a session lost while signed in (401) shows the sign-in form and stops polling', async () => {
    const page = await dash.newPage();
    try {
      await page.goto(`${dash.url}/orgs/${orgId}`);
      await signIn(page, ADMIN.email, ADMIN.password);
      await page.getByRole('link', { name: 'Alpha office' }).waitFor();
      await dash.browser.context.clearCookies();
      // The next poll (every 5 s) gets 401 and the app shows the sign-in form without a reload.
      await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 8_000 });
      const requests = countApiRequests(page);
      await page.waitForTimeout(3_000);
      expect(requests.urls()).toEqual([]);
      await screenshot(page, 'navigation-session-lost', 'sign-in');
    } finally {
      await page.close();
    }
  });

  it('a viewer joins by an invitation link, sees no change controls, and the server refuses a mutation sent from the page', async () => {
    const viewer = await dash.createOperator('viewer@dashboard.test');
    const admin = apiClient(dash.url);
    await admin.auth.signIn.mutate({ ...ADMIN });
    const invitation = await admin.invitations.create.mutate({
      organizationId: orgId,
      email: viewer.email,
      role: 'viewer',
    });
    const page = await dash.newPage();
    try {
      // The invitation link opened signed out: sign in, land on it, accept, open the organization.
      await page.goto(`${dash.url}/invitations/${invitation.token}`);
      await signIn(page, viewer.email, viewer.password);
      await page.getByRole('button', { name: 'Accept invitation' }).click();
      await page.getByRole('status').getByText('Invitation accepted.').waitFor();
      await screenshot(page, 'navigation-viewer', 'invitation-accepted');
      await page.getByRole('link', { name: 'Open the organization' }).click();
      await page.getByRole('link', { name: 'Alpha office' }).waitFor();
      expect(await page.getByRole('button', { name: 'Add site' }).count()).toBe(0);
      await screenshot(page, 'navigation-viewer', 'overview');
      await page.getByRole('link', { name: 'Alpha office' }).click();
      await page.getByRole('heading', { name: 'Agents' }).waitFor();
      expect(await page.getByRole('button', { name: 'Add agent' }).count()).toBe(0);
      expect(await page.getByLabel('New agent').count()).toBe(0);
      await screenshot(page, 'navigation-viewer', 'site');
      // The audit log is for admins: no link for a viewer, and its URL says so instead of an error.
      expect(await page.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
      await page.goto(`${dash.url}/orgs/${orgId}/audit`);
      await page.getByText('The audit log is open to admins and owners; your role here is viewer.').waitFor();

      // Same origin, the viewer's own session cookie: the server says FORBIDDEN.
      const answer = await page.evaluate(async (siteId) => {
        const res = await fetch('/trpc/agents.create', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ siteId, name: 'sneaky-fw' }),
        });
        return { status: res.status, body: await res.text() };
      }, siteA.id);
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('FORBIDDEN');
      const agents = await admin.agents.list.query({ organizationId: orgId });
      expect(agents.map((a) => a.name)).not.toContain('sneaky-fw');

      // The account page lists the organization with the viewer's role.
      await page.getByRole('link', { name: viewer.email }).click();
      await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
      const membership = page.getByRole('listitem').filter({ hasText: 'Navigation Org' });
      expect(await membership.textContent()).toContain('viewer');
      await screenshot(page, 'navigation-viewer', 'account');
    } finally {
      await page.close();
    }
  });
});
