/**
 * The dashboard's files, read once when the server starts: the page, its
 * script and style from assets/dashboard/ at the package root (shipped in the
 * npm package's `files`), and uPlot's build, found through the module
 * resolver so it also works when ntpkit is installed as a dependency and
 * uplot is hoisted next to it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface DashboardAsset {
  readonly type: string;
  readonly body: Buffer;
  /** Strong validator: a quoted hash of the body. */
  readonly etag: string;
}

/** dist/web/ -> the package root's assets/dashboard/. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../assets/dashboard/', import.meta.url));

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** URL path -> file. The only files the server ever reads. */
function table(): [string, string, string][] {
  const require = createRequire(import.meta.url);
  return [
    ['/', `${DASHBOARD_DIR}index.html`, HTML],
    ['/index.html', `${DASHBOARD_DIR}index.html`, HTML],
    ['/dashboard.js', `${DASHBOARD_DIR}dashboard.js`, JS],
    ['/dashboard.css', `${DASHBOARD_DIR}dashboard.css`, CSS],
    ['/uplot/uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), JS],
    ['/uplot/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), CSS],
  ];
}

/** @throws Error naming the file when one cannot be read (a broken install). */
export async function loadDashboardAssets(): Promise<ReadonlyMap<string, DashboardAsset>> {
  const out = new Map<string, DashboardAsset>();
  for (const [route, file, type] of table()) {
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch (e) {
      throw new Error(`Cannot read the dashboard file ${file}: ${(e as Error).message}`);
    }
    out.set(route, { type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return out;
}
