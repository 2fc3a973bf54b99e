import { pathToFileURL } from 'node:url';

/**
 * What the desktop shell trusts, as plain data and functions (tested without Electron; main.ts only wires them):
 * our own index.html and nothing else. See docs/security.md.
 */

/** The page's policy: our scripts only; the renderer talks to the main process through IPC, never the network. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-src 'none'; frame-ancestors 'none'; form-action 'none'";

/**
 * A URL is ours when it is exactly our index.html (any query or fragment) or, under `npm start`, the Vite dev
 * server's page. Any other file:// URL is not: a trace or a download opened by accident must never drive the engine.
 */
export function isOwnPage(url: string | undefined, indexHtml: string, devUrl?: string): boolean {
  if (!url) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const bare = `${u.protocol}//${u.host}${u.pathname}`;
  if (devUrl) {
    const d = new URL(devUrl);
    return u.origin === d.origin;
  }
  return u.protocol === 'file:' && bare === pathToFileURL(indexHtml).href;
}

/** The View menu: reload and developer tools only while developing (`npm start`), never in a packaged app. */
export function viewMenuRoles(dev: boolean): string[] {
  return [
    ...(dev ? ['reload', 'toggleDevTools', 'separator'] : []),
    'resetZoom',
    'zoomIn',
    'zoomOut',
    'togglefullscreen',
  ];
}

/** Events by which a page could leave our index.html or open another window; each is refused unless to our page. */
export const NAVIGATION_EVENTS = ['will-navigate', 'will-frame-navigate', 'will-redirect'] as const;

/** Electron fuses the packaged app is built with (forge.config.ts and electron-builder.yml set the same). */
export const FUSES = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
} as const;
