import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FuseV1Options } from '@electron/fuses';
import { CSP, FUSES, isOwnPage, viewMenuRoles } from '../../electron/security.js';
import config from '../../forge.config.js';
import { ROOT } from '../helpers.js';

const INDEX = '/opt/dlens/resources/app.asar/.vite/renderer/main_window/index.html';

describe('the Electron shell trusts only its own page', () => {
  it('our index.html is trusted; any other file:// URL, http page or garbage is not', () => {
    const own = pathToFileURL(INDEX).href;
    expect(isOwnPage(own, INDEX)).toBe(true);
    expect(isOwnPage(`${own}?x=1#view`, INDEX)).toBe(true);
    for (const url of [
      'file:///home/me/Downloads/evil.html',
      'file:///opt/dlens/resources/app.asar/.vite/renderer/main_window/other.html',
      `${own.replace('index.html', '')}`,
      'https://example.org/index.html',
      'about:blank',
      '',
      'not a url',
      undefined,
    ]) {
      expect(isOwnPage(url, INDEX)).toBe(false);
    }
    expect(isOwnPage('http://localhost:5173/some/page', INDEX, 'http://localhost:5173/')).toBe(true);
    expect(isOwnPage('http://localhost:5174/', INDEX, 'http://localhost:5173/')).toBe(false);
    expect(isOwnPage(own, INDEX, 'http://localhost:5173/')).toBe(false);
  });

  it('the CSP allows no network but our origin and no frames, in the app and in the page itself', () => {
    const html = readFileSync(join(ROOT, 'renderer', 'index.html'), 'utf8');
    const meta = /Content-Security-Policy"\s+content="([^"]+)"/.exec(html)![1]!;
    for (const policy of [CSP, meta]) {
      expect(policy).toMatch(/connect-src 'self';/);
      expect(policy).toMatch(/frame-src 'none'/);
      expect(policy).not.toMatch(/ws:|\*/);
    }
  });

  it('reload and developer tools are in the View menu only while developing', () => {
    expect(viewMenuRoles(false)).not.toContain('toggleDevTools');
    expect(viewMenuRoles(false)).not.toContain('reload');
    expect(viewMenuRoles(true)).toContain('toggleDevTools');
  });

  it('both packagers set the fuses: no run-as-node, NODE_OPTIONS or inspect; cookie encryption; asar only, checked', () => {
    expect(FUSES).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    const fuses = (config.plugins ?? []).find((p) => p.name === 'fuses') as unknown as
      { fusesConfig: Record<number, boolean> } | undefined;
    expect(fuses).toBeDefined();
    expect(fuses!.fusesConfig[FuseV1Options.RunAsNode]).toBe(false);
    expect(fuses!.fusesConfig[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(false);
    expect(fuses!.fusesConfig[FuseV1Options.EnableNodeCliInspectArguments]).toBe(false);
    expect(fuses!.fusesConfig[FuseV1Options.EnableCookieEncryption]).toBe(true);
    expect(fuses!.fusesConfig[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(true);
    expect(fuses!.fusesConfig[FuseV1Options.OnlyLoadAppFromAsar]).toBe(true);
    const yml = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8');
    const block = /^electronFuses:\n((?: {2}\w+: \w+\n)+)/m.exec(yml)![1]!;
    const builder = Object.fromEntries(
      block
        .trim()
        .split('\n')
        .map((l) => l.trim().split(': '))
        .map(([k, v]) => [k, v === 'true']),
    );
    expect(builder).toEqual(FUSES);
  });

  it('main.ts quits a second instance before setting anything up, and guards every web contents', () => {
    const main = readFileSync(join(ROOT, 'electron', 'main.ts'), 'utf8');
    expect(main).toMatch(/if \(app\.requestSingleInstanceLock\(\)\) start\(\);\nelse app\.quit\(\);/);
    for (const s of [
      "'web-contents-created'",
      'NAVIGATION_EVENTS',
      'setPermissionCheckHandler',
      'setPermissionRequestHandler',
      'setWindowOpenHandler',
      "'will-attach-webview'",
      'isOwnPage',
    ])
      expect(main).toContain(s);
  });
});
