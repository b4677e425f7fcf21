import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, startControlPlane } from '@sipwall/control-plane';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { type SpawnedAgent, spawnAgent } from '../../agent/test/helpers/spawn-agent.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WEB_DIR = join(REPO, 'control-plane/web');
const DASHBOARD_DIR = join(WEB_DIR, 'dist');

const ADMIN_EMAIL = 'admin@dashboard.test';
const ADMIN_PASSWORD = 'correct horse battery staple';
/** Every browser wait is bounded; the agent gets a little longer (enrollment + MQTT connect). */
const UI_TIMEOUT_MS = 10_000;
const ONLINE_TIMEOUT_MS = 30_000;

const haveChromium = chromiumAvailable();
const suiteName = haveChromium
  ? 'dashboard in a real browser'
  : 'dashboard in a real browser — SKIPPED: /usr/bin/chromium is missing (apt-get install -y chromium)';

/** Builds the dashboard if the test command did not (bounded). */
function ensureDashboardBuilt(): void {
  if (existsSync(join(DASHBOARD_DIR, 'index.html'))) return;
  const build = spawnSync('npx', ['--no-install', 'vite', 'build'], {
    cwd: WEB_DIR,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (build.status !== 0) {
    throw new Error(`vite build failed (status ${build.status}):\n${build.stdout}\n${build.stderr}`);
  }
}

/** Starts the real `sipwall-agent` (from source), enrolled to the control plane with `token`. */
function startAgentProcess(dir: string, cpUrl: string, token: string): SpawnedAgent {
  const configFile = join(dir, 'agent.yaml');
  // JSON is valid YAML, and it spares us quoting rules.
  const config = {
    site: 'dashboard-e2e',
    stateDir: join(dir, 'agent-state'),
    log: { level: 'info' },
    controlPlane: { url: cpUrl, enrollmentToken: token },
    sip: {
      domains: ['dashboard.example.test'],
      interfaces: [
        { name: 'inside', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp'] },
        { name: 'outside', role: 'outside', address: '127.0.0.1', port: 0, transports: ['udp'] },
      ],
    },
    admin: { address: '127.0.0.1', port: 0 },
    media: { driver: 'relay' },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  return spawnAgent(['--config', configFile, '--sip-port', '0', '--admin-port', '0']);
}

async function signIn(page: Page, password: string): Promise<void> {
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe.skipIf(!haveChromium)(suiteName, () => {
  let dir: string;
  let cp: ControlPlane | undefined;
  let browser: TestBrowser | undefined;
  let agent: SpawnedAgent | undefined;
  /** Screenshots go to $SIPWALL_DASHBOARD_SCREENSHOTS (a directory) to be looked at, else to the temp dir. */
  const screenshotPath = (name: string) => join(process.env['SIPWALL_DASHBOARD_SCREENSHOTS'] ?? dir, name);

  beforeAll(async () => {
    ensureDashboardBuilt();
    dir = mkdtempSync(join(tmpdir(), 'sipwall-dashboard-'));
    cp = await startControlPlane({
      host: '127.0.0.1',
      port: 0,
      database: { kind: 'pglite', dataDir: 'memory' },
      broker: { kind: 'embedded', port: 0 },
      admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
      dataDir: null,
      dashboardDir: DASHBOARD_DIR,
      logger: pino({ level: 'silent' }),
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await agent?.stop();
    await browser?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong password shows the server error and stays on the sign-in form', async () => {
    const page = await browser!.context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    try {
      await page.goto(cp!.url);
      await signIn(page, 'not the password');
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('wrong email or password');
      expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
      expect(await page.getByLabel('Password').isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
      await page.screenshot({ path: screenshotPath('sign-in-error.png') });
    } finally {
      await page.close();
    }
  });

  // Generous: three bounded waits on a real agent process, on a possibly busy CI machine.
  it('signs in, adds an agent, sees it go online live, and sees a pushed config applied', {
    timeout: 120_000,
  }, async () => {
    const page = await browser!.context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    try {
      await page.goto(cp!.url);
      await signIn(page, ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      expect(await page.getByText(ADMIN_EMAIL).isVisible()).toBe(true);

      // Organization → site → agent, all through the UI.
      await page.getByLabel('New organization').fill('Acme Telecom');
      await page.getByRole('button', { name: 'Create organization' }).click();
      await page.getByLabel('Organization', { exact: true }).waitFor();
      await page.getByLabel('New site').fill('Berlin office');
      await page.getByRole('button', { name: 'Add site' }).click();
      const site = page.getByRole('region', { name: 'Berlin office' });
      await site.waitFor();
      await site.getByLabel('New agent').fill('edge-fw-1');
      await site.getByRole('button', { name: 'Add agent' }).click();

      const token = (await site.getByTestId('enrollment-token-value').textContent())?.trim() ?? '';
      expect(token.length).toBeGreaterThanOrEqual(16);
      expect(await site.locator('pre.snippet').textContent()).toContain(`enrollmentToken: ${token}`);

      const statusCell = site.locator('[data-testid^="agent-status-"]');
      await statusCell.waitFor();
      const agentId = ((await statusCell.getAttribute('data-testid')) ?? '').replace('agent-status-', '');
      expect(agentId).toMatch(/^[a-z0-9][a-z0-9-]{2,63}$/);
      expect((await statusCell.textContent())?.trim()).toBe('offline');

      // Marks this document, so we can tell later that the page was never reloaded.
      await page.evaluate(() => {
        (globalThis as unknown as { __noReload: boolean }).__noReload = true;
      });

      agent = startAgentProcess(dir, cp!.url, token);
      try {
        await page
          .getByTestId(`agent-status-${agentId}`)
          .getByText('online', { exact: true })
          .waitFor({ timeout: ONLINE_TIMEOUT_MS });
      } catch (e) {
        throw new Error(
          `agent never showed online: ${(e as Error).message}\n${agent?.stdout()}${agent?.stderr()}`,
        );
      }
      expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(
        true,
      );

      // Push a config from the agent's detail panel and watch the applied version follow.
      await site.getByRole('button', { name: 'edge-fw-1' }).click();
      const panel = page.getByTestId('agent-detail');
      await panel.getByLabel('Domains').fill('sip.acme.example\npbx.acme.example');
      await panel.getByLabel('Log level').selectOption('debug');
      await panel.getByRole('button', { name: 'Push config' }).click();
      await panel.getByTestId('pushed-version').getByText('Pushed version v1').waitFor();
      await page
        .getByTestId(`agent-version-${agentId}`)
        .getByText('v1 / v1', { exact: false })
        .waitFor({ timeout: ONLINE_TIMEOUT_MS })
        .catch((e: Error) => {
          throw new Error(
            `agent never reported v1 applied: ${e.message}\n${agent?.stdout() ?? ''}${agent?.stderr() ?? ''}`,
          );
        });

      const screenshot = screenshotPath('fleet.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(existsSync(screenshot)).toBe(true);

      // A stopped agent announces `offline`; the badge follows, still without a reload.
      await agent.stop();
      await page
        .getByTestId(`agent-status-${agentId}`)
        .getByText('offline', { exact: true })
        .waitFor({ timeout: ONLINE_TIMEOUT_MS });
      expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(
        true,
      );
    } finally {
      await page.close();
    }
  });
});
