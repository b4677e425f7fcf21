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
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
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

  it('serves every dashboard route, including ones with dots (call ids), but not API paths', async () => {
    for (const path of ['/orgs/o1/sites/s1/calls', '/orgs/o1/calls/a84b4c76%4010.0.0.1', '/account']) {
      const r = await app.request(path);
      expect(r.status, path).toBe(200);
      expect(await r.text(), path).toBe('<html>spa</html>');
    }
    for (const path of ['/trpc/no.such', '/api/v1/x', '/enroll/x', '/metrics/x', '/style.css', '/x.png']) {
      expect((await app.request(path)).status, path).toBe(404);
    }
  });

  it('answers /favicon.ico with the SVG favicon', async () => {
    const r = await app.request('/favicon.ico');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/svg+xml');
    expect(await r.text()).toContain('<svg');
  });

  it('never leaves the directory', async () => {
    const r = await app.request('/..%2fsipwall-secret.txt');
    expect(await r.text()).not.toBe('secret');
  });
});
