import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, RequestHandler, Response } from 'express';

/**
 * The web dashboard (docs/dashboard.md): plain ES modules from `web/` at the package root and the two browser builds
 * it draws the dependency graph with, read from node_modules, served at fixed URLs. Nothing is fetched from anywhere
 * else, so the dashboard works offline; the pages carry a Content-Security-Policy that allows scripts, styles and
 * connections from this origin only (no inline script, no eval, no frames).
 *
 * The files are read once, when the router is built: a request never touches the disk, and a path in a URL never
 * names a file (only the fixed table below answers).
 */

/** The dashboard's own files: `web/` beside `src/` (checkout) or `dist/` (the installed package). */
export const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

/** Everything the pages may load, and where the feed connects: this origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A file the dashboard serves: its bytes, type, strong ETag and how long a browser may keep it without asking. */
type Asset = Readonly<{ body: Buffer; type: string; etag: string; cacheControl: string }>;

/** The dashboard's files change with every release and are revalidated; the libraries are pinned and kept a day. */
const REVALIDATE = 'no-cache';
const VENDOR = 'public, max-age=86400';

/**
 * A file as served. The vendor bundles end with a `sourceMappingURL` comment; their maps are not served, so the
 * comment goes, and a browser's developer tools do not ask for them.
 */
const asset = (file: string, cacheControl: string): Asset => {
  const body = Buffer.from(fs.readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  const type = TYPES[path.extname(file)];
  if (!type) throw new Error(`The dashboard has no content type for ${file}`);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, cacheControl };
};

/** A file beside a package's main entry (its `dist/`), found as Node finds the package. */
const besideMain = (name: string, file: string): string => path.join(path.dirname(createRequire(import.meta.url).resolve(name)), file);

/** URL → file: the vendor builds (ES modules, no imports of their own) and every module and stylesheet of web/. */
export const dashboardAssets = (webDir = WEB_DIR): ReadonlyMap<string, Asset> => {
  const assets = new Map<string, Asset>();
  assets.set('/vendor/cytoscape.esm.min.mjs', asset(besideMain('cytoscape', 'cytoscape.esm.min.mjs'), VENDOR));
  assets.set('/vendor/cytoscape-dagre.min.mjs', asset(besideMain('cytoscape-dagre', 'cytoscape-dagre.min.mjs'), VENDOR));
  assets.set('/', asset(path.join(webDir, 'index.html'), REVALIDATE));
  for (const name of fs.readdirSync(webDir).sort()) {
    if (/^[a-z0-9-]+\.(js|css|svg)$/.test(name)) assets.set(`/web/${name}`, asset(path.join(webDir, name), REVALIDATE));
  }
  return assets;
};

/** One file, or 304 when the browser holds this version; HTML pages get the CSP. */
const send = (req: Request, res: Response, file: Asset) => {
  res.setHeader('Content-Type', file.type);
  res.setHeader('Cache-Control', file.cacheControl);
  res.setHeader('ETag', file.etag);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (file.type.startsWith('text/html')) {
    res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
  }
  const match = req.get('if-none-match');
  if (match !== undefined && match.split(',').some((tag) => tag.trim() === file.etag)) {
    res.status(304).end();
    return;
  }
  res.setHeader('Content-Length', String(file.body.length));
  if (req.method === 'HEAD') res.end();
  else res.end(file.body);
};

/** GET/HEAD `/`, `/web/*` and `/vendor/*`: the table's files, nothing else (an unknown name falls through to 404). */
export const dashboardRouter = (assets: ReadonlyMap<string, Asset> = dashboardAssets()): RequestHandler => {
  // One lookup in the table, not a route per file: every request of the API passes through here first.
  return (req, res, next) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? assets.get(req.path) : undefined;
    if (file) send(req, res, file);
    else next();
  };
};
