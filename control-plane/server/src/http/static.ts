import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';

/** Built dashboard, relative to this package (same depth from `src/http/` and `dist/http/`). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>sipwall</title>
<p>sipwall control plane is running, but the dashboard is not built.
Run <code>npm run build -w @sipwall/dashboard</code> and reload.</p>`;

/** Paths of the API and the machinery: never the dashboard, so an unknown one stays a 404. */
const API_PREFIXES = ['/trpc', '/api', '/enroll', '/healthz', '/metrics'];

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * Serves the built dashboard with SPA fallback to `index.html` for every other path (the
 * dashboard's router reads the URL). Paths cannot leave `dir`. A missing file of a known asset
 * type (or under `/assets/`) is a 404, as are API paths; `/favicon.ico` answers the dashboard's
 * SVG favicon when there is no `.ico`. When `dir` has no index.html, `/` answers a short page
 * saying the dashboard is not built.
 */
export function dashboardHandler(dir: string) {
  const root = normalize(dir);
  return async (c: Context) => {
    const index = join(root, 'index.html');
    if (!existsSync(index)) {
      return c.req.path === '/' ? c.html(NOT_BUILT) : c.text('not found', 404);
    }
    let rel: string;
    try {
      rel = decodeURIComponent(c.req.path);
    } catch {
      return c.text('bad path', 400);
    }
    if (isApiPath(rel)) return c.text('not found', 404);
    if (rel === '/favicon.ico' && !existsSync(join(root, 'favicon.ico'))) {
      const svg = join(root, 'favicon.svg');
      if (existsSync(svg)) return c.body(await readFile(svg), 200, { 'content-type': TYPES['.svg']! });
    }
    const file = normalize(join(root, rel));
    if (file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile()) {
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      return c.body(await readFile(file), 200, { 'content-type': type });
    }
    // Missing asset files are 404; everything else is a client-side route (a route may hold a
    // dot, e.g. a SIP Call-ID `a84b4c76@10.0.0.1`, so only known asset types count as files).
    if (rel.startsWith('/assets/') || extname(rel) in TYPES) return c.text('not found', 404);
    return c.body(await readFile(index), 200, { 'content-type': TYPES['.html']! });
  };
}
