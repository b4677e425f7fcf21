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

/**
 * Serves the built dashboard with SPA fallback to `index.html`. Paths cannot leave `dir`.
 * When `dir` has no index.html, `/` answers a short page saying the dashboard is not built.
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
    const file = normalize(join(root, rel));
    if (file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile()) {
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      return c.body(await readFile(file), 200, { 'content-type': type });
    }
    // Missing asset files are 404; everything else is a client-side route.
    if (extname(rel) !== '') return c.text('not found', 404);
    return c.body(await readFile(index), 200, { 'content-type': TYPES['.html']! });
  };
}
