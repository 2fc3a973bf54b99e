import { app, BrowserWindow, Menu, dialog, ipcMain, session, type MenuItemConstructorOptions } from 'electron';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { createEngineService, defaultServiceOptions } from '../engine/api/service.js';
import { createIpcHandlers } from './ipc.js';
import { CHANNELS } from './preload-api.js';

// Thin on purpose: everything behind these handlers (engine, validation, file writes) is tested without Electron.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string | undefined;
// Defined by Electron Forge's Vite plugin under `npm start`; absent in `npm run build` bundles.
const DEV_URL = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;
const RENDERER_NAME = typeof MAIN_WINDOW_VITE_NAME === 'string' ? MAIN_WINDOW_VITE_NAME : 'main_window';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
const service = createEngineService(defaultServiceOptions());
let win: BrowserWindow | null = null;
const pendingFiles: string[] = [];

const dlensFiles = (argv: string[]) => argv.filter((a) => a.endsWith('.dlens') && existsSync(a)).map((a) => resolve(a));
const openInWindow = (path: string) => { if (win) win.webContents.send(CHANNELS.menu, `open-path:${path}`); else pendingFiles.push(path); };
const menu = (action: string) => win?.webContents.send(CHANNELS.menu, action);

if (!app.requestSingleInstanceLock()) app.quit();
app.on('second-instance', (_e, argv) => { dlensFiles(argv).forEach(openInWindow); if (win) { if (win.isMinimized()) win.restore(); win.focus(); } });
app.on('open-file', (e, path) => { e.preventDefault(); openInWindow(path); });

async function buildMenu() {
  const recent = await service.recent();
  const template: MenuItemConstructorOptions[] = [
    { label: 'File', submenu: [
      { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: async () => {
        const r = await dialog.showOpenDialog({ filters: [{ name: 'dlens trace', extensions: ['dlens'] }], properties: ['openFile', 'multiSelections'] });
        r.filePaths.forEach(openInWindow);
      } },
      { label: 'Open Recent', submenu: recent.length ? recent.map((f) => ({ label: f.name, click: () => openInWindow(f.path) })) : [{ label: '(none)', enabled: false }] },
      { label: 'Save As…', accelerator: 'CmdOrCtrl+Shift+S', click: () => menu('save') },
      { label: 'Export', submenu: [
        { label: 'Figure as SVG…', click: () => menu('export-svg') }, { label: 'Figure as PNG…', click: () => menu('export-png') },
        { label: 'Metrics as CSV…', click: () => menu('export-csv') }, { label: 'Metrics as LaTeX…', click: () => menu('export-latex') },
      ] },
      { type: 'separator' }, { role: 'quit' },
    ] },
    { label: 'Trace', submenu: [{ label: 'Compare', accelerator: 'CmdOrCtrl+K', click: () => menu('compare') }, { label: 'Record…', accelerator: 'CmdOrCtrl+R', click: () => menu('record') }] },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { role: 'togglefullscreen' }] },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function createWindow() {
  win = new BrowserWindow({
    width: 1400, height: 900, title: 'dlens', show: false,
    webPreferences: { preload: join(__dirname, 'preload.cjs'), contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: false },
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => { win = null; });
  win.webContents.on('did-finish-load', () => { pendingFiles.splice(0).forEach(openInWindow); });
  if (DEV_URL) await win.loadURL(DEV_URL);
  else await win.loadFile(join(__dirname, '..', 'renderer', RENDERER_NAME, 'index.html'));
}

app.whenReady().then(async () => {
  session.defaultSession.webRequest.onHeadersReceived((d, cb) => cb({ responseHeaders: { ...d.responseHeaders, 'Content-Security-Policy': [CSP] } }));
  session.defaultSession.setPermissionRequestHandler((_wc, _p, cb) => cb(false));
  const handlers = createIpcHandlers(service, {
    async chooseSavePath(name, kind) {
      const r = await dialog.showSaveDialog(win!, { defaultPath: name, filters: kind === 'trace' ? [{ name: 'dlens trace', extensions: ['dlens'] }] : [] });
      return r.canceled || !r.filePath ? null : r.filePath;
    },
  });
  // Only our own page may call: a frame from anywhere else (it cannot navigate, but defence in depth) is refused.
  const trusted = (url: string | undefined) => !!url && (url.startsWith('file://') || (!!DEV_URL && url.startsWith(DEV_URL)));
  ipcMain.handle(CHANNELS.call, (e, method, args) => { if (!trusted(e.senderFrame?.url)) throw new Error('untrusted sender'); return handlers.call(method, args); });
  ipcMain.handle(CHANNELS.saveFile, (e, name, data) => { if (!trusted(e.senderFrame?.url)) throw new Error('untrusted sender'); return handlers.saveFile(name, data); });
  service.onEvent((ev) => { win?.webContents.send(CHANNELS.event, ev); if (ev.type === 'done') void buildMenu(); });
  dlensFiles(process.argv.slice(1)).forEach((f) => pendingFiles.push(f));
  await buildMenu();
  await createWindow();
  app.on('activate', () => { if (!BrowserWindow.getAllWindows().length) void createWindow(); });
});
app.on('window-all-closed', () => { if (process.platform !== 'darwin') app.quit(); });
app.on('before-quit', () => { void service.close(); });
