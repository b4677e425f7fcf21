import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, startControlPlane } from '@sipwall/control-plane';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { type SpawnedAgent, spawnAgent } from '../../agent/test/helpers/spawn-agent.js';
import { createOperator } from '../../control-plane/server/src/db/queries/operators.js';
import { addMembership } from '../../control-plane/server/src/db/queries/organizations.js';
import { hashSecret } from '../../control-plane/server/src/security/password.js';
import {
  startMosquittoDynsec,
  type TestMosquitto,
} from '../../control-plane/server/test/helpers/mosquitto.js';
import { chromiumAvailable, launchBrowser, type TestBrowser } from './browser.js';
import { type ServicesUnderTest, servicesUnderTest } from './services.js';

/**
 * Browser tests of the dashboard: a control plane serving the built dashboard (`control-plane/web/dist`)
 * on the services under test (embedded PGlite + aedes, or with DATABASE_URL/MQTT_URL real PostgreSQL
 * and a Mosquitto of the test's own), a headless Chromium, and small helpers (sign in, screenshots,
 * operators with roles, a real agent process).
 */

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WEB_DIR = join(REPO, 'control-plane/web');
export const DASHBOARD_DIR = join(WEB_DIR, 'dist');
const REPORTS_DIR = join(REPO, '.reports/dashboard');

export const ADMIN = { email: 'admin@dashboard.test', password: 'correct horse battery staple' } as const;
/** Password of every operator `operatorWithRole` creates. */
export const MEMBER_PASSWORD = 'member password for tests';
/** Every browser wait is bounded; an agent going online gets longer (enrollment + MQTT connect). */
export const UI_TIMEOUT_MS = 10_000;
export const ONLINE_TIMEOUT_MS = 30_000;

export const haveChromium = chromiumAvailable();
/** `describe` title: `title`, or why the suite is skipped. */
export function suiteTitle(title: string): string {
  return haveChromium
    ? title
    : `${title} — SKIPPED: /usr/bin/chromium is missing (apt-get install -y chromium)`;
}

/** Builds the dashboard if the test command did not (bounded). */
export function ensureDashboardBuilt(): void {
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

export interface Dashboard {
  cp: ControlPlane;
  services: ServicesUnderTest;
  browser: TestBrowser;
  /** The control plane's base URL (serves the dashboard and `/trpc`). */
  url: string;
  /** A temp dir for this run (agent configs and state). */
  dir: string;
  /** A new page, signed out (the browser's cookies cleared), with the bounded default timeout. */
  newPage(): Promise<Page>;
  /** Creates an operator (password `MEMBER_PASSWORD`) who belongs to no organization. */
  createOperator(email: string): Promise<{ id: string; email: string; password: string }>;
  /** Creates an operator (password `MEMBER_PASSWORD`) with `role` in `organizationId`. */
  operatorWithRole(params: {
    email: string;
    organizationId: string;
    role: 'viewer' | 'operator' | 'admin' | 'owner';
  }): Promise<{ id: string; email: string; password: string }>;
  /** Starts a real agent process enrolled with `token` (stopped by `stop()` at the latest). */
  startAgent(token: string, site?: string): SpawnedAgent;
  stop(): Promise<void>;
}

/** Starts everything a dashboard browser test needs. Call `stop()` in `afterAll`. */
export async function startDashboard(): Promise<Dashboard> {
  ensureDashboardBuilt();
  const services = await servicesUnderTest();
  let mosquitto: TestMosquitto | undefined;
  let cp: ControlPlane | undefined;
  let browser: TestBrowser | undefined;
  const agents: SpawnedAgent[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sipwall-dashboard-'));
  const stop = async () => {
    for (const agent of agents) await agent.stop().catch(() => {});
    await browser?.close();
    await cp?.stop();
    await mosquitto?.stop();
    await services.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // A shared broker would share the `$share/cp` group with other runs: a Mosquitto of our own.
    if (process.env['MQTT_URL']) mosquitto = await startMosquittoDynsec();
    cp = await startControlPlane({
      host: '127.0.0.1',
      port: 0,
      database: services.database,
      broker: mosquitto
        ? { kind: 'external', url: mosquitto.adminUrl, provisioning: 'dynsec' }
        : { kind: 'embedded', port: 0 },
      admin: { ...ADMIN },
      dataDir: null,
      dashboardDir: DASHBOARD_DIR,
      logger: pino({ level: 'silent' }),
    });
    browser = await launchBrowser();
  } catch (e) {
    await stop();
    throw e;
  }
  const started = cp;
  const startedBrowser = browser;
  async function newOperator(email: string) {
    const operator = await createOperator(started.database.db, {
      email,
      name: email.split('@')[0] ?? email,
      passwordHash: await hashSecret(MEMBER_PASSWORD),
    });
    return { id: operator.id, email: operator.email, password: MEMBER_PASSWORD };
  }
  return {
    cp: started,
    services,
    browser: startedBrowser,
    url: started.url,
    dir,
    async newPage() {
      await startedBrowser.context.clearCookies();
      const page = await startedBrowser.context.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      return page;
    },
    createOperator: newOperator,
    async operatorWithRole({ email, organizationId, role }) {
      const operator = await newOperator(email);
      await addMembership(started.database.db, { operatorId: operator.id, organizationId, role });
      return operator;
    },
    startAgent(token, site = 'dashboard-e2e') {
      const agentDir = mkdtempSync(join(dir, 'agent-'));
      const configFile = join(agentDir, 'agent.yaml');
      // JSON is valid YAML, and it spares us quoting rules.
      const config = {
        site,
        stateDir: join(agentDir, 'state'),
        log: { level: 'info' },
        controlPlane: { url: started.url, enrollmentToken: token },
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
      const agent = spawnAgent(['--config', configFile, '--sip-port', '0', '--admin-port', '0']);
      agents.push(agent);
      return agent;
    },
    stop,
  };
}

/** Fills the sign-in form and submits it (does not wait for the result). */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A full-page PNG at `<repo>/.reports/dashboard/<testName>/<shotName>.png`; returns its path. */
export async function screenshot(page: Page, testName: string, shotName: string): Promise<string> {
  const safe = (s: string) => s.replace(/[^a-zA-Z0-9._-]+/g, '-').slice(0, 80);
  const folder = join(REPORTS_DIR, safe(testName));
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${safe(shotName)}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
