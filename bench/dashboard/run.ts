/**
 * bench/dashboard — what the dashboard costs a browser: bundle size (raw and gzip, JS + CSS) and
 * time to first render on loopback. Builds `control-plane/web`, starts a control plane on its
 * embedded defaults (PGlite in memory, aedes) serving the build, and drives Debian's Chromium
 * (playwright-core) through fresh, cache-less contexts:
 *
 * - `first_render_ms`: navigation start → the sign-in form visible (no session);
 * - `overview_ms`: navigation start → the organization overview visible, with a session (the
 *   overview's heading and its first site row drawn).
 *
 * Medians of `--runs` (default 7). Last line: `dashboard: bundle_gzip_kb=… first_render_ms=… overview_ms=…`.
 *
 * Usage: npm run bench:dashboard -w @sipwall/bench [-- --runs 7 --no-build]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type AppRouter, startControlPlane } from '@sipwall/control-plane';
import { createTRPCClient, httpLink } from '@trpc/client';
import { chromium, type Page } from 'playwright-core';
import { pino } from 'pino';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(REPO, 'control-plane/web');
const DIST = join(WEB, 'dist');
const CHROMIUM = '/usr/bin/chromium';
const ADMIN = { email: 'bench@dashboard.test', password: 'bench dashboard password 1234' };
const STEP_TIMEOUT_MS = 20_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const RUNS = Math.min(50, Math.max(1, Number(arg('runs') ?? 7)));
const BUILD = !process.argv.includes('--no-build');

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Raw and gzip bytes of the built JS and CSS (source maps excluded). */
function bundleSize(): { files: { name: string; raw: number; gzip: number }[]; raw: number; gzip: number } {
  const assets = join(DIST, 'assets');
  const files = readdirSync(assets)
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .map((name) => {
      const bytes = readFileSync(join(assets, name));
      return { name, raw: statSync(join(assets, name)).size, gzip: gzipSync(bytes, { level: 9 }).length };
    });
  return {
    files,
    raw: files.reduce((a, f) => a + f.raw, 0),
    gzip: files.reduce((a, f) => a + f.gzip, 0),
  };
}

/** Milliseconds from the page's navigation start until `selector`'s element is visible (checked every frame). */
async function visibleAt(page: Page, selector: string): Promise<number> {
  // A string expression: evaluated in the page (this file is type-checked without the DOM lib).
  const probe = `(() => { const el = document.querySelector(${JSON.stringify(selector)});
    if (el === null) return false; const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? performance.now() : false; })()`;
  const handle = await page.waitForFunction(probe, undefined, { polling: 'raf', timeout: STEP_TIMEOUT_MS });
  return Math.round((await handle.jsonValue()) as number);
}

/** Milliseconds from navigation start until `text` is drawn in the page's main area. */
async function textVisibleAt(page: Page, text: string): Promise<number> {
  const probe = `(() => { const m = document.querySelector('main');
    return m !== null && m.innerText.includes(${JSON.stringify(text)}) ? performance.now() : false; })()`;
  const handle = await page.waitForFunction(probe, undefined, { polling: 'raf', timeout: STEP_TIMEOUT_MS });
  return Math.round((await handle.jsonValue()) as number);
}

/** A tRPC client over HTTP keeping the session cookie (as the browser would). */
function apiClient(baseUrl: string) {
  let cookie = '';
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${baseUrl}/trpc`,
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
  return { client, cookie: () => cookie };
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
  console.log(
    `bench/dashboard: node ${process.version}, ${cpus()[0]?.model ?? 'cpu?'} ×${cpus().length}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, runs ${RUNS}`,
  );
  if (BUILD) {
    const t0 = performance.now();
    const build = spawnSync('npx', ['--no-install', 'vite', 'build'], {
      cwd: WEB,
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
    console.log(`build: ${Math.round(performance.now() - t0)} ms`);
  } else if (!existsSync(join(DIST, 'index.html')))
    throw new Error('no build in control-plane/web/dist (drop --no-build)');

  const size = bundleSize();
  for (const f of size.files)
    console.log(
      `  ${f.name.padEnd(28)} raw ${(f.raw / 1024).toFixed(1).padStart(7)} KiB  gzip ${(f.gzip / 1024).toFixed(1).padStart(6)} KiB`,
    );
  console.log(
    `bundle: raw ${(size.raw / 1024).toFixed(1)} KiB, gzip ${(size.gzip / 1024).toFixed(1)} KiB (JS + CSS)`,
  );

  const cp = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    database: { kind: 'pglite', dataDir: 'memory' },
    broker: { kind: 'embedded', port: 0 },
    admin: ADMIN,
    dataDir: null,
    dashboardDir: DIST,
    logger: pino({ level: 'silent' }),
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
    ],
  });
  try {
    // One organization with a few sites, so the overview has rows to draw (set up over the API).
    const api = apiClient(cp.url);
    await api.client.auth.signIn.mutate(ADMIN);
    const org = await api.client.organizations.create.mutate({ name: 'Bench org' });
    for (let i = 1; i <= 5; i++)
      await api.client.sites.create.mutate({ organizationId: org.id, name: `Site ${i}` });
    const [name, value] = api.cookie().split('=') as [string, string];
    const session = [{ name, value, url: cp.url }];

    const firstRender: number[] = [];
    const overview: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Fresh contexts: no HTTP cache, so every run downloads and parses the bundle.
      const anon = await browser.newContext();
      const p1 = await anon.newPage();
      await p1.goto(cp.url, { waitUntil: 'commit' });
      firstRender.push(await visibleAt(p1, 'input[type="email"], input[autocomplete="username"]'));
      await anon.close();

      const signed = await browser.newContext();
      await signed.addCookies(session);
      const p2 = await signed.newPage();
      await p2.goto(`${cp.url}/orgs/${org.id}`, { waitUntil: 'commit' });
      overview.push(await textVisibleAt(p2, 'Site 5'));
      await signed.close();
    }
    console.log(`first render (sign-in form): ${firstRender.join(' ')} ms → median ${median(firstRender)}`);
    console.log(`overview (signed in):        ${overview.join(' ')} ms → median ${median(overview)}`);
    console.log(
      `dashboard: bundle_gzip_kb=${(size.gzip / 1024).toFixed(1)} first_render_ms=${median(firstRender)} overview_ms=${median(overview)}`,
    );
  } finally {
    await browser.close();
    await cp.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
