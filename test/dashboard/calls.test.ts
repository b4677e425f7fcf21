import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, haveSipp, runSipp, SKIP_SUFFIX, startSipp } from '../../agent/test/helpers/sipp.js';
import type { SpawnedAgent } from '../../agent/test/helpers/spawn-agent.js';
import { digestRegister } from '../../agent/test/sipp/register-scenarios.js';
import { sitePath, statsPath } from '../../control-plane/web/src/lib/route-links.js';
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
  UI_TIMEOUT_MS,
} from '../helpers/dashboard.js';
import {
  CALLER_IP,
  holdingCallScenario,
  INSIDE_IP,
  OUTSIDE_IP,
  rtpPacket,
  startCallAgent,
} from '../helpers/sip-call.js';

const TEST = 'calls';
const DOMAIN = 'calls.example.test';
const BOB = { user: 'bob', password: 'bob-dashboard-pw' };
const UAS_SCENARIO = fileURLToPath(new URL('../lab/sipp/uas-answer.xml', import.meta.url));
const HOLD_MS = 14_000;

/** The outside party's media socket: one source address for every burst (the relay latches on it). */
async function rtpSender(to: string) {
  const [host, port] = to.split(':') as [string, string];
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, CALLER_IP, r));
  return {
    async send(from: number, count: number) {
      for (let i = from; i < from + count; i++)
        await new Promise<void>((r) => sock.send(rtpPacket(i), Number(port), host, () => r()));
    },
    close: () => sock.close(),
  };
}

/** The number a packet-counter cell shows (digits only; formatting may group them). */
async function counter(page: Page, testId: string): Promise<number> {
  const text = await page.getByTestId(testId).first().innerText();
  return Number(text.replace(/[^0-9]/g, '') || '0');
}

/**
 * Calls in the dashboard, end to end: a real agent enrolled to the control plane, a phone (SIPp)
 * registered on its inside, and an outside caller (SIPp) calling it through the agent with media
 * anchored by the relay. The call shows on the site's calls tab with live packet counters, its
 * page shows the SIP ladder (live, then complete on both legs), and once ended it is in the
 * recent call records and the statistics.
 */
describe.skipIf(!haveSipp || !haveChromium)(
  suiteTitle(`dashboard: calls, ladder and statistics${SKIP_SUFFIX}`),
  () => {
    let d: Dashboard | undefined;
    let agent: SpawnedAgent | undefined;
    let orgId = '';
    let siteId = '';
    /** A site without calls: the statistics' empty state. */
    let quietSiteId = '';
    let agentId = '';
    let insidePort = 0;
    let outsidePort = 0;
    let bobPort = 0;
    let dir = '';

    beforeAll(async () => {
      d = await startDashboard();
      dir = mkdtempSync(join(d.dir, 'calls-'));
      const api = apiClient(d.url);
      await api.auth.signIn.mutate(ADMIN);
      orgId = (await api.organizations.create.mutate({ name: `Calls (${d.services.label})` })).id;
      siteId = (await api.sites.create.mutate({ organizationId: orgId, name: 'Harbour office' })).id;
      quietSiteId = (await api.sites.create.mutate({ organizationId: orgId, name: 'Quiet annex' })).id;
      const created = await api.agents.create.mutate({ siteId, name: 'harbour-fw' });
      agentId = created.agent.id;
      ({ agent, insidePort, outsidePort } = await startCallAgent({
        dir,
        site: 'harbour',
        cpUrl: d.url,
        enrollmentToken: created.enrollmentToken,
        domain: DOMAIN,
        user: BOB,
        mediaBase: 42_000 + Math.floor(Math.random() * 150) * 100,
      }));
      await eventually(
        'agent online',
        async () => (await api.agents.get.query({ agentId })).online,
        ONLINE_TIMEOUT_MS,
      );
      bobPort = await freeUdpPort(INSIDE_IP);
      const reg = await runSipp({
        scenario: {
          xml: digestRegister({ user: BOB.user, domain: DOMAIN, password: BOB.password, expires: 600 }),
          name: 'reg.xml',
        },
        dir,
        remote: `${INSIDE_IP}:${insidePort}`,
        localIp: INSIDE_IP,
        localPort: bobPort,
        authUri: DOMAIN,
      });
      expect(reg.code, reg.output).toBe(0);
    }, 90_000);

    afterAll(async () => {
      await agent?.stop(5000).catch(() => {});
      await d?.stop();
    });

    it('shows the live call with rising packet counters, its SIP ladder on both legs, then the record and the hourly chart', async () => {
      const dash = d!;
      const api = apiClient(dash.url);
      await api.auth.signIn.mutate(ADMIN);
      const uas = await startSipp({
        scenario: { file: UAS_SCENARIO },
        dir,
        localIp: INSIDE_IP,
        localPort: bobPort,
        timeoutSec: 40,
        recvTimeoutMs: 30_000,
        extraArgs: ['-mi', INSIDE_IP, '-mp', String(await freeUdpPort(INSIDE_IP))],
      });
      const uac = await startSipp({
        scenario: { xml: holdingCallScenario(DOMAIN, HOLD_MS), name: 'uac.xml' },
        dir,
        remote: `${OUTSIDE_IP}:${outsidePort}`,
        localIp: CALLER_IP,
        timeoutSec: 40,
        recvTimeoutMs: 10_000,
        extraArgs: ['-mi', CALLER_IP, '-mp', String(await freeUdpPort(CALLER_IP))],
      });
      const page = await dash.newPage();
      let media: Awaited<ReturnType<typeof rtpSender>> | undefined;
      try {
        // The call as the agent sees it: its Call-ID and the relay's outside media port.
        const call = await eventually(
          'a confirmed call with an anchored stream',
          async () => {
            const row = (await api.live.calls.query({ agentId, limit: 10, offset: 0 })).rows[0];
            return row?.state === 'confirmed' && row.streams.length > 0 ? row : undefined;
          },
          8_000,
        );
        const outsideMedia = call.streams[0]!.sides.find((s) => s.interface === 'outside')!.local!;
        // Which counter counts what the outside caller sends (a→b when side a is the outside one).
        const fromOutside =
          call.streams[0]!.sides[0]!.interface === 'outside' ? 'packets-a-b' : 'packets-b-a';

        media = await rtpSender(outsideMedia);
        await media.send(0, 20);
        // A deep link signed out: the sign-in form, then the page asked for.
        await page.goto(`${dash.url}${sitePath(orgId, siteId, 'calls')}`);
        await signIn(page, ADMIN.email, ADMIN.password);
        const row = page.getByTestId(`live-call-${call.callId}`);
        await row.waitFor({ timeout: UI_TIMEOUT_MS });
        await expect
          .poll(() => counter(page, fromOutside), { timeout: UI_TIMEOUT_MS })
          .toBeGreaterThanOrEqual(20);
        const before = await counter(page, fromOutside);
        await media.send(20, 30);
        await expect
          .poll(() => counter(page, fromOutside), { timeout: UI_TIMEOUT_MS })
          .toBeGreaterThanOrEqual(before + 30);
        await screenshot(page, TEST, '1-site-calls-live');

        // The call page while the call is up: the ladder so far (no BYE yet).
        await row.getByRole('link').first().click();
        await page.waitForURL((u) => u.pathname.includes('/calls/'));
        const arrows = page.locator('.ladder-row');
        await expect.poll(() => arrows.count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThanOrEqual(9);
        const labels = () => arrows.evaluateAll((els) => els.map((e) => e.getAttribute('data-label') ?? ''));
        expect(await labels()).not.toContain('BYE');
        expect(await labels()).toEqual(
          expect.arrayContaining(['INVITE', '100 Trying', '180 Ringing', '200 OK', 'ACK']),
        );
        await screenshot(page, TEST, '2-call-ladder-live');

        const [u, s] = await Promise.all([uac.done, uas.done]);
        expect(u.code, u.output).toBe(0);
        expect(s.code, s.output).toBe(0);

        // The ladder completes by itself (it refreshes until the call is over): both legs' BYE/200.
        await expect
          .poll(async () => (await labels()).filter((l) => l === 'BYE').length, { timeout: UI_TIMEOUT_MS })
          .toBe(2);
        const all = await labels();
        const count = (l: string) => all.filter((x) => x === l).length;
        expect(count('INVITE')).toBe(2);
        expect(count('ACK')).toBe(2);
        expect(count('180 Ringing')).toBeGreaterThanOrEqual(2);
        // 200 to the INVITE and to the BYE, on each leg (SIPp may resend its 200 once before the ACK).
        expect(count('200 OK')).toBeGreaterThanOrEqual(4);
        // Each leg between its own lanes: the aria label names them.
        const bye = page.locator('.ladder-row[data-label="BYE"]');
        await expect
          .poll(() => bye.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))))
          .toEqual([
            expect.stringMatching(/BYE from Outside party to Agent \(outside\)/),
            expect.stringMatching(/BYE from Agent \(inside\) to Inside phone/),
          ]);
        await bye.first().click();
        const text = page.getByTestId('ladder-message-text');
        await expect.poll(() => text.innerText()).toMatch(/^BYE sip:/);
        expect(await text.innerText()).toMatch(/CSeq: 2 BYE/);
        await screenshot(page, TEST, '3-call-ladder-complete');

        // The call record arrives once the call has ended: recent calls of the site.
        await eventually(
          'the call record',
          async () => (await api.stats.recentCalls.query({ siteId })).rows.length > 0,
          15_000,
        );
        await page.goto(`${dash.url}${sitePath(orgId, siteId, 'calls')}`);
        const recent = page.getByTestId('recent-calls');
        await recent.waitFor({ timeout: UI_TIMEOUT_MS });
        await expect.poll(() => recent.innerText(), { timeout: UI_TIMEOUT_MS }).toMatch(/carol@caller\.test/);
        await screenshot(page, TEST, '4-recent-calls');

        // The record's link opens the call page: the record and the same, complete ladder.
        await recent.getByRole('link').first().click();
        await page.getByTestId('call-record').waitFor({ timeout: UI_TIMEOUT_MS });
        await expect.poll(() => arrows.count(), { timeout: UI_TIMEOUT_MS }).toBe(all.length);

        // And in the statistics: one call this hour, answered; the site in the worst-sites table.
        await page.goto(`${dash.url}${statsPath(orgId, { range: '24h' })}`);
        await expect
          .poll(() => page.getByTestId('total-calls').innerText(), { timeout: UI_TIMEOUT_MS })
          .toBe('1');
        await page.getByRole('img', { name: /Calls per hour: 1 calls, 1 answered/ }).waitFor();
        expect(await page.locator('.stats-chart canvas').count()).toBeGreaterThanOrEqual(4);
        await page.locator('.stats-worst-table').getByRole('link', { name: 'Harbour office' }).waitFor();
        expect(new URL(page.url()).searchParams.get('range')).toBe('24h');
        await page.getByRole('button', { name: '7 days' }).click();
        await page.waitForURL((url) => url.searchParams.get('range') === '7d');
        await expect
          .poll(() => page.getByTestId('total-calls').innerText(), { timeout: UI_TIMEOUT_MS })
          .toBe('1');
        await screenshot(page, TEST, '5-statistics');

        // One site in scope, by the selector: kept in the URL; a site without calls shows the empty state.
        await page.getByLabel('Scope').selectOption({ label: 'Quiet annex' });
        await page.waitForURL((url) => url.searchParams.get('site') === quietSiteId);
        expect(new URL(page.url()).searchParams.get('range')).toBe('7d');
        await page
          .getByText('No calls, authentications or registrations in the last 7 days at this site.')
          .waitFor();
        expect(await page.getByTestId('total-calls').count()).toBe(0);
        expect(await page.locator('.stats-worst-table').count()).toBe(0);
        await screenshot(page, TEST, '6-statistics-empty-site');
      } finally {
        media?.close();
        await page.close();
        await Promise.allSettled([uac.done, uas.done]);
      }
    }, 60_000);
  },
);
