import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, haveSipp, runSipp } from '../../agent/test/helpers/sipp.js';
import type { SpawnedAgent } from '../../agent/test/helpers/spawn-agent.js';
import { digestRegister } from '../../agent/test/sipp/register-scenarios.js';
import {
  agentPath,
  changesPath,
  settingsPath,
  sitePath,
} from '../../control-plane/web/src/lib/route-links.js';
import { apiClient, eventually } from '../helpers/api-client.js';
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

/** The domain the test agents serve (from their file, see `startDashboard().startAgent`). */
const DOMAIN = 'dashboard.example.test';
const T = 'changes';

type Api = ReturnType<typeof apiClient>;

/** The SIP `inside` port an agent listens on, from its `agent ready` log line. */
async function insidePortOf(agent: SpawnedAgent): Promise<number> {
  const ready = await agent.waitForLog((l) => l.msg === 'agent ready', 20_000);
  const sip = ready['sip'] as { interface: string; port: number }[];
  const port = sip.find((l) => l.interface === 'inside')?.port;
  if (!port) throw new Error(`no inside SIP port in ${JSON.stringify(ready)}`);
  return port;
}

/** Waits until the agent reports its latest desired version applied; returns that version. */
async function appliedLatest(api: Api, agentId: string, atLeast: number): Promise<number> {
  const a = await eventually(
    `agent ${agentId} applies version ≥ ${atLeast}`,
    async () => {
      const g = await api.agents.get.query({ agentId });
      return g.configState === 'applied' && (g.appliedVersion ?? 0) >= atLeast && g.online ? g : null;
    },
    ONLINE_TIMEOUT_MS,
  );
  return a.appliedVersion!;
}

describe.skipIf(!haveChromium)(suiteTitle('dashboard change forms in a real browser'), () => {
  let d: Dashboard;
  let api: Api;
  let page: Page;
  let orgId: string;
  let siteA: { id: string; name: string };
  let siteB: { id: string; name: string };
  let agentA: string;
  let agentB: string;
  let insideA = 0;

  beforeAll(async () => {
    d = await startDashboard();
    api = apiClient(d.url);
    await api.auth.signIn.mutate({ ...ADMIN });
    orgId = (await api.organizations.create.mutate({ name: 'Changes org' })).id;
    siteA = await api.sites.create.mutate({ organizationId: orgId, name: 'Site A' });
    siteB = await api.sites.create.mutate({ organizationId: orgId, name: 'Site B' });
    const a = await api.agents.create.mutate({ siteId: siteA.id, name: 'fw-a' });
    const b = await api.agents.create.mutate({ siteId: siteB.id, name: 'fw-b' });
    agentA = a.agent.id;
    agentB = b.agent.id;
    const procA = d.startAgent(a.enrollmentToken, 'site-a');
    d.startAgent(b.enrollmentToken, 'site-b');
    insideA = await insidePortOf(procA);
    for (const id of [agentA, agentB])
      await eventually(
        'agent online',
        async () => (await api.agents.get.query({ agentId: id })).online,
        30_000,
      );
    page = await d.newPage();
    await page.goto(d.url);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole('button', { name: /sign out/i }).waitFor();
  }, 90_000);

  afterAll(async () => {
    await d?.stop();
  });

  it.skipIf(!haveSipp)(
    'add a SIP user, read its one-time password, register a real phone with it and see the registration',
    async () => {
      await page.goto(`${d.url}${sitePath(orgId, siteA.id, 'users')}`);
      const form = page.getByRole('form', { name: 'Add a SIP user' });
      await form.getByLabel('Username').fill('alice');
      await form.getByLabel('Display name').fill('Alice Example');
      await form.getByLabel('Domain').fill(DOMAIN);
      await form.getByRole('button', { name: 'Add user' }).click();
      const password = (await page.getByTestId('one-time-secret').textContent())?.trim() ?? '';
      expect(password).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      await screenshot(page, T, '01-sip-user-password-once');
      // Shown once: after "Done" it is gone and nothing in the page holds it any more.
      await page.getByRole('button', { name: 'Done' }).click();
      expect(await page.content()).not.toContain(password);

      // The user reaches the agent as a new desired version; then a real phone registers with it.
      await appliedLatest(api, agentA, 1);
      const reg = await runSipp({
        scenario: {
          xml: digestRegister({ user: 'alice', domain: DOMAIN, password, expires: 600 }),
          name: 'reg.xml',
        },
        dir: d.dir,
        remote: `127.0.0.1:${insideA}`,
        localIp: '127.0.0.1',
        localPort: await freeUdpPort('127.0.0.1'),
        authUri: DOMAIN,
      });
      expect(reg.code, reg.output).toBe(0);

      await page.getByRole('link', { name: `alice@${DOMAIN}` }).click();
      const regs = page.getByTestId('user-registrations');
      await regs.waitFor({ timeout: 15_000 });
      expect(await regs.textContent()).toContain('sip:alice@127.0.0.1');
      await screenshot(page, T, '02-sip-user-registered');
      // Disable and enable again from the user's page.
      await page.getByRole('button', { name: 'Disable' }).click();
      await expect.poll(async () => page.getByTestId('sip-user-state').textContent()).toBe('disabled');
      expect((await api.sipUsers.list.query({ siteId: siteA.id }))[0]?.enabled).toBe(false);
      await page.getByRole('button', { name: 'Enable' }).click();
      await expect.poll(async () => page.getByTestId('sip-user-state').textContent()).toBe('enabled');
    },
    60_000,
  );

  it('changes a policy on two sites at once (preview, push) and both agents apply it', async () => {
    const before = await api.agents.list.query({ organizationId: orgId });
    await page.goto(`${d.url}${changesPath(orgId)}`);
    await page.getByLabel('Select Site A').check();
    await page.getByLabel('Select Site B').check();
    await page.locator('[id="patch-config.logLevel"]').selectOption('debug');
    await page.getByRole('button', { name: /^Preview \(2 sites\)/ }).click();
    const preview = page.getByTestId('preview');
    await preview.waitFor();
    const text = (await preview.textContent()) ?? '';
    expect(text).toContain('Site A');
    expect(text).toContain('Site B');
    expect(text.match(/config\.logLevel/g)?.length).toBe(2);
    await screenshot(page, T, '03-push-preview');
    await page.getByRole('button', { name: 'Push now' }).click();
    await page.getByTestId('rollout-started').waitFor();
    for (const agentId of [agentA, agentB]) {
      const was = before.find((a) => a.id === agentId)?.desiredVersion ?? 0;
      const applied = await appliedLatest(api, agentId, was + 1);
      const got = await api.agents.get.query({ agentId });
      const latest = got.configVersions.find((v) => v.version === applied);
      expect((latest?.payload as { config?: { logLevel?: string } } | undefined)?.config?.logLevel).toBe(
        'debug',
      );
    }
    // The panel shows each site's agent applied, none pending or failed.
    for (const name of ['Site A', 'Site B']) {
      const row = page.locator(`[data-testid="push-site-row"][data-site="${name}"]`);
      await expect.poll(async () => row.getByTestId('pending').textContent(), { timeout: 10_000 }).toBe('0');
      expect(await row.getByTestId('applied').textContent()).toBe('1');
      expect(await row.getByTestId('failed').textContent()).toBe('0');
    }
    await screenshot(page, T, '04-push-applied-on-both');
  }, 60_000);

  it('rolls an agent back to an earlier version and sees it applied', async () => {
    const versions = (await api.agents.get.query({ agentId: agentB })).configVersions;
    const latest = versions[0]!.version;
    // Agent B: push one more change so that there is an earlier version to go back to.
    await api.sites.setConfig.mutate({ siteId: siteB.id, config: { logLevel: 'warn' } });
    const afterChange = await appliedLatest(api, agentB, latest + 1);
    await page.goto(`${d.url}${changesPath(orgId)}`);
    await page.locator('#rollback-agent').selectOption({ label: 'Site B / fw-b' });
    await page.locator('#rollback-version').selectOption(String(latest));
    await page.getByTestId('rollback-diff').waitFor();
    expect(await page.getByTestId('rollback-diff').textContent()).toContain('config.logLevel');
    await page.getByRole('button', { name: `Roll back to v${latest}` }).click();
    await page.getByTestId('rollback-done').waitFor();
    const rolled = await appliedLatest(api, agentB, afterChange + 1);
    const got = await api.agents.get.query({ agentId: agentB });
    const payload = got.configVersions.find((v) => v.version === rolled)?.payload as {
      config: { logLevel?: string };
    };
    expect(payload.config.logLevel).toBe('debug');
    await expect
      .poll(async () => page.getByTestId('rollback-agent-state').textContent(), { timeout: 10_000 })
      .toContain(`applied v${rolled} (applied)`);
    await screenshot(page, T, '05-rollback-applied');
  }, 60_000);

  it('a staged rollout with Site A as canary completes and both agents apply it', async () => {
    const before = await api.agents.list.query({ organizationId: orgId });
    await page.goto(`${d.url}${changesPath(orgId)}`);
    await page.getByLabel('Select all sites').check();
    await page.getByLabel('Site A is a canary').check();
    await page.locator('[id="patch-config.logLevel"]').selectOption('error');
    await page.getByRole('button', { name: 'Staged rollout (canaries first)' }).click();
    await page.getByTestId('rollout-started').waitFor();
    // The server advances the rollout when the canary agent reports the version applied.
    const row = page.getByTestId('rollout-row').first();
    await expect.poll(async () => row.textContent(), { timeout: 30_000 }).toContain('completed');
    for (const agentId of [agentA, agentB]) {
      const was = before.find((a) => a.id === agentId)?.desiredVersion ?? 0;
      const applied = await appliedLatest(api, agentId, was + 1);
      const got = await api.agents.get.query({ agentId });
      const payload = got.configVersions.find((v) => v.version === applied)?.payload as
        | { config?: { logLevel?: string } }
        | undefined;
      expect(payload?.config?.logLevel).toBe('error');
    }
    const [rollout] = await api.rollouts.list.query({ organizationId: orgId });
    expect(rollout).toMatchObject({ state: 'completed', canarySiteIds: [siteA.id], restSiteIds: [siteB.id] });
    await screenshot(page, T, '05b-staged-rollout-completed');
  }, 45_000);

  it('a duplicate site name and a bad policy value show typed errors beside the field', async () => {
    await page.goto(`${d.url}${sitePath(orgId, siteB.id)}`);
    await page.getByRole('button', { name: 'Rename site' }).click();
    await page.getByLabel('New site name').fill('site a');
    await page.getByRole('button', { name: 'Save' }).click();
    const nameError = page.locator('span.field-error[data-field="name"]');
    await nameError.waitFor();
    expect(await nameError.textContent()).toContain(
      'a site named "Site A" already exists in this organization',
    );
    expect((await api.sites.list.query({ organizationId: orgId })).map((s) => s.name).sort()).toEqual([
      'Site A',
      'Site B',
    ]);
    await screenshot(page, T, '06-duplicate-site-name');

    // The site's config tab: the effective value of each field and where it comes from.
    await page.goto(`${d.url}${sitePath(orgId, siteA.id, 'config')}`);
    const logRow = page.locator('tr[data-field="config.logLevel"]');
    await logRow.waitFor();
    expect(await logRow.getByTestId('effective-value').textContent()).toBe('error');
    expect(await logRow.getByTestId('effective-source').textContent()).toBe('site override');
    const domainsRow = page.locator('tr[data-field="config.domains"]');
    expect(await domainsRow.getByTestId('effective-source').textContent()).toBe('agent file default');
    await screenshot(page, T, '06b-site-effective-config');

    await page.goto(`${d.url}${settingsPath(orgId)}`);
    await page.locator('[id="pf-config.domains"]').fill('ok.example.com\nexa mple.com');
    await page.getByRole('button', { name: 'Save and push' }).click();
    const domainError = page.locator('span.field-error[data-field="config.domains"]');
    await domainError.waitFor();
    expect(await domainError.textContent()).toBe('config.domains[1] "exa mple.com": not a valid domain name');
    await screenshot(page, T, '07-policy-field-error');
  }, 30_000);

  it('re-issuing an agent token shows it once and voids its enrollment; the audit log lists every change', async () => {
    await page.goto(`${d.url}${agentPath(orgId, agentB)}`);
    await page.getByRole('button', { name: 'Re-issue enrollment token' }).click();
    await page.getByText('Re-issue the token of “fw-b”?').waitFor();
    await page.getByRole('button', { name: 'Yes, re-issue enrollment token' }).click();
    const token = (await page.getByTestId('one-time-secret').textContent()) ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    await screenshot(page, T, '07b-reissued-token-once');
    // Its old credentials are void: it must enroll again with the new token.
    await expect.poll(async () => (await api.agents.get.query({ agentId: agentB })).enrolled).toBe(false);

    await page.goto(`${d.url}/orgs/${orgId}/audit`);
    const rows = page.getByTestId('audit-row');
    await rows.first().waitFor();
    const actions = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    expect(actions).toEqual(
      expect.arrayContaining([
        'sipUser.create',
        'rollout.start',
        'agent.rollback',
        'site.setConfig',
        'agent.reissueEnrollment',
      ]),
    );
    await page.getByLabel('Show').selectOption('agent.');
    const actionsShown = async () =>
      rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action') ?? ''));
    // While the filtered page loads the table is empty: wait for rows, all of them agent actions.
    await expect
      .poll(async () => {
        const shown = await actionsShown();
        return shown.length > 0 && shown.every((a) => a.startsWith('agent.'));
      })
      .toBe(true);
    expect(await actionsShown()).toEqual(expect.arrayContaining(['agent.create', 'agent.rollback']));
    await screenshot(page, T, '08-audit-log');
  }, 30_000);

  it('an invitation link is shown once; a viewer sees no change controls', async () => {
    await page.goto(`${d.url}${settingsPath(orgId)}`);
    const invite = page.getByRole('form', { name: 'Invite an operator' });
    await invite.getByLabel('Email').fill('new.viewer@dashboard.test');
    await invite.getByLabel('Role').selectOption('viewer');
    await invite.getByRole('button', { name: 'Invite' }).click();
    const link = (await page.getByTestId('one-time-secret').textContent()) ?? '';
    expect(link).toMatch(new RegExp(`^${d.url}/invitations/[A-Za-z0-9_-]{20,}$`));
    await page.getByTestId('invitation-row').first().waitFor();
    await screenshot(page, T, '09-invitation-link-once');

    const viewer = await d.operatorWithRole({
      email: 'viewer@dashboard.test',
      organizationId: orgId,
      role: 'viewer',
    });
    await page.getByRole('button', { name: /sign out/i }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await signIn(page, viewer.email, viewer.password);
    await page.getByRole('button', { name: /sign out/i }).waitFor();
    await page.goto(`${d.url}${sitePath(orgId, siteA.id, 'users')}`);
    await page.getByRole('heading', { name: 'SIP users' }).waitFor();
    await page.getByTestId('sip-user-row').first().waitFor();
    expect(await page.getByRole('form', { name: 'Add a SIP user' }).count()).toBe(0);
    await page.goto(`${d.url}${changesPath(orgId)}`);
    await page.getByText('Pushing needs the admin role.').waitFor();
    expect(await page.getByRole('button', { name: 'Push now' }).count()).toBe(0);
    await screenshot(page, T, '10-viewer-read-only');
  }, 30_000);
});
