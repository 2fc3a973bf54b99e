import { app, BrowserWindow, Menu, dialog, ipcMain, session, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import { createEngineService, defaultServiceOptions } from '../engine/api/service.js';
import { createIpcHandlers } from './ipc.js';
import { launchPaths } from './launch-paths.js';
import { CHANNELS } from './preload-api.js';
import { CSP, NAVIGATION_EVENTS, isOwnPage, viewMenuRoles } from './security.js';

// Thin on purpose: everything behind these handlers (engine, validation, file writes) is tested without Electron.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string | undefined;
// Defined by Electron Forge's Vite plugin under `npm start`; absent in `npm run build` bundles.
const DEV_URL = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;
const RENDERER_NAME = typeof MAIN_WINDOW_VITE_NAME === 'string' ? MAIN_WINDOW_VITE_NAME : 'main_window';

const INDEX_HTML = join(__dirname, '..', 'renderer', RENDERER_NAME, 'index.html');
const trusted = (url: string | undefined) => isOwnPage(url, INDEX_HTML, DEV_URL);
const service = createEngineService(defaultServiceOptions());
let win: BrowserWindow | null = null;
// Menu actions for the page that arrive before it has loaded (files and sets named at launch).
const pending: string[] = [];

const send = (action: string) => {
  if (win) win.webContents.send(CHANNELS.menu, action);
  else pending.push(action);
};
// Every path that reaches the page this way was chosen by the person (dialog, OS, command line, recent list), so the
// engine may read it; the page itself can name no other file.
const openInWindow = (path: string) => {
  service.allow(path);
  send(`open-path:${path}`);
};
// A trace set the person chose: the engine may read its index and decodes (docs/trace-set.md), and no other set.
const openSetInWindow = (dir: string) => {
  service.allowSet(dir);
  send(`open-set:${dir}`);
};
const openLaunched = (argv: string[]) => {
  const { traces, sets, state } = launchPaths(argv);
  traces.forEach(openInWindow);
  sets.forEach(openSetInWindow);
  // After the files: the page applies it once they are open (the traces it names by path, in this order).
  if (state !== null)
    send(`apply-state:${new URLSearchParams([...traces.map((t) => ['open', t]), ...new URLSearchParams(state)])}`);
};
const menu = (action: string) => win?.webContents.send(CHANNELS.menu, action);

async function buildMenu() {
  const recent = await service.recent();
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        {
          label: 'Open…',
          accelerator: 'CmdOrCtrl+O',
          click: async () => {
            const r = await dialog.showOpenDialog({
              filters: [{ name: 'dlens trace', extensions: ['dlens'] }],
              properties: ['openFile', 'multiSelections'],
            });
            r.filePaths.forEach(openInWindow);
          },
        },
        {
          label: 'Open Trace Set…',
          accelerator: 'CmdOrCtrl+Shift+O',
          click: async () => {
            const r = await dialog.showOpenDialog({ title: 'Open a trace set folder', properties: ['openDirectory'] });
            r.filePaths.forEach(openSetInWindow);
          },
        },
        {
          label: 'Open Recent',
          submenu: recent.length
            ? recent.map((f) => ({ label: f.name, click: () => openInWindow(f.path) }))
            : [{ label: '(none)', enabled: false }],
        },
        { label: 'Save As…', accelerator: 'CmdOrCtrl+Shift+S', click: () => menu('save') },
        {
          label: 'Export',
          submenu: [
            { label: 'Figure as SVG…', click: () => menu('export-svg') },
            { label: 'Figure as PNG…', click: () => menu('export-png') },
            { label: 'Metrics as CSV…', click: () => menu('export-csv') },
            { label: 'Metrics as LaTeX…', click: () => menu('export-latex') },
          ],
        },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    {
      label: 'Trace',
      submenu: [
        { label: 'Compare', accelerator: 'CmdOrCtrl+K', click: () => menu('compare') },
        { label: 'Record…', accelerator: 'CmdOrCtrl+R', click: () => menu('record') },
      ],
    },
    {
      label: 'View',
      submenu: viewMenuRoles(!!DEV_URL).map(
        (r) => (r === 'separator' ? { type: 'separator' } : { role: r }) as MenuItemConstructorOptions,
      ),
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function createWindow() {
  win = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'dlens',
    show: false,
    webPreferences: {
      preload: join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => {
    win = null;
  });
  win.webContents.on('did-finish-load', () => {
    pending.splice(0).forEach(send);
  });
  if (DEV_URL) await win.loadURL(DEV_URL);
  else await win.loadFile(INDEX_HTML);
}

function start() {
  app.on('second-instance', (_e, argv) => {
    openLaunched(argv);
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('open-file', (e, path) => {
    e.preventDefault();
    openLaunched([path]);
  });

  // Every web contents, ours or any a bug might create: no new windows, no webviews, no navigation away from our page.
  app.on('web-contents-created', (_e, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (e) => e.preventDefault());
    for (const ev of NAVIGATION_EVENTS) {
      contents.on(ev as 'will-navigate', (e: Electron.Event & { url?: string }, url?: string) => {
        if (!trusted(e.url ?? url)) e.preventDefault();
      });
    }
  });

  app.whenReady().then(async () => {
    session.defaultSession.webRequest.onHeadersReceived((d, cb) =>
      cb({ responseHeaders: { ...d.responseHeaders, 'Content-Security-Policy': [CSP] } }),
    );
    session.defaultSession.setPermissionRequestHandler((_wc, _p, cb) => cb(false));
    session.defaultSession.setPermissionCheckHandler(() => false);
    const handlers = createIpcHandlers(service, {
      async chooseSavePath(name, kind) {
        const r = await dialog.showSaveDialog(win!, {
          defaultPath: name,
          filters: kind === 'trace' ? [{ name: 'dlens trace', extensions: ['dlens'] }] : [],
        });
        return r.canceled || !r.filePath ? null : r.filePath;
      },
    });
    // Only our own page may call: a frame from anywhere else (it cannot navigate, but defence in depth) is refused.
    ipcMain.handle(CHANNELS.call, (e, method, args) => {
      if (!trusted(e.senderFrame?.url)) throw new Error('untrusted sender');
      return handlers.call(method, args);
    });
    // The folder the person picks is theirs to import: the engine may read it from then on.
    ipcMain.handle(CHANNELS.chooseFolder, async (e, title) => {
      if (!trusted(e.senderFrame?.url)) throw new Error('untrusted sender');
      const r = await dialog.showOpenDialog(win!, {
        title: typeof title === 'string' ? title.slice(0, 200) : undefined,
        properties: ['openDirectory'],
      });
      const dir = r.canceled ? undefined : r.filePaths[0];
      if (!dir) return null;
      service.allow(dir);
      return dir;
    });
    ipcMain.handle(CHANNELS.saveFile, (e, name, data) => {
      if (!trusted(e.senderFrame?.url)) throw new Error('untrusted sender');
      return handlers.saveFile(name, data);
    });
    service.onEvent((ev) => {
      win?.webContents.send(CHANNELS.event, ev);
      if (ev.type === 'done') void buildMenu();
    });
    openLaunched(process.argv.slice(1));
    await buildMenu();
    await createWindow();
    app.on('activate', () => {
      if (!BrowserWindow.getAllWindows().length) void createWindow();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('before-quit', () => {
    void service.close();
  });
}

// A second instance hands its files to the first (second-instance above) and quits without setting anything up.
if (app.requestSingleInstanceLock()) start();
else app.quit();
