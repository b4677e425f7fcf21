import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { dashboardHandler } from './static.js';

describe('dashboardHandler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipwall-dash-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<html>spa</html>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmpdir(), 'sipwall-secret.txt'), 'secret');
  const app = new Hono().get('*', dashboardHandler(dir));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(tmpdir(), 'sipwall-secret.txt'), { force: true });
  });

  it('serves files with a content type', async () => {
    const r = await app.request('/assets/app.js');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/javascript/);
  });

  it('falls back to index.html for client routes, 404 for missing assets', async () => {
    expect(await (await app.request('/agents/ag-x')).text()).toBe('<html>spa</html>');
    expect((await app.request('/assets/missing.js')).status).toBe(404);
  });

  it('never leaves the directory', async () => {
    const r = await app.request('/..%2fsipwall-secret.txt');
    expect(await r.text()).not.toBe('secret');
  });
});
