/**
 * The Electron shell: a thin adapter over the same backend as the browser shell (src-main/host/app.ts).
 * - One BrowserWindow: contextIsolation, sandbox, no nodeIntegration, webSecurity; the renderer is
 *   served from the privileged `app://renderer/` scheme with the shared CSP (src-main/shells/csp.ts);
 *   navigation, new windows, webviews and permission requests are refused.
 * - `stems://<root>/<path>` serves stem audio, peaks, artwork, exports and a running job's live files
 *   through PathGuard (Range; media.ts).
 * - IPC: one channel `stemdeck:invoke` → the shared dispatcher (every argument validated);
 *   events are pushed on `stemdeck:event`; `stemdeck:start-drag` → webContents.startDrag with a
 *   real file prepared by `dragout.prepare`; `stemdeck:start-drag-files` drags a song's stems at
 *   once (drag.ts, files from `dragout.prepareAll`); `stemdeck:chosen` records dropped files.
 * - The engine runs in a utilityProcess (host-process.ts); a crash there never takes the window down.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, protocol, session, shell, type MenuItemConstructorOptions, type WebContents } from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createDispatcher, type Handlers } from '../api/contract.js';
import { App, AUDIO_EXTENSIONS } from '../host/app.js';
import { contentSecurityPolicy } from '../shells/csp.js';
import { utilityHost } from './host-process.js';
import { startDragFiles } from './drag.js';
import { fileResponse, stemsResponse } from './media.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.resolve(here, '..', 'renderer');
const preloadFile = path.resolve(here, '..', 'preload', 'index.cjs');
const APP_ORIGIN = 'app://renderer';
const CSP = contentSecurityPolicy({ shell: 'electron' });
/** build/icons/32x32.png */
const DRAG_ICON = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAYAAABzenr0AAABM0lEQVR42mNgGIxAWk4tAYjnA/F+KmGQWQnEWGwAxPeB+D+NMMhsA3yWv6eh5TD8HqsjaOxzjJDAFuf/6YwTkB0wH12BmpX3f4vMDqpgkFlYHDAf2QH70RX4L7z4P2zLS6pgkFlYHLB/cDuADlGA3wF0wPgdIKmm/Z8vzodkLOxmRx0HsNcl/GeYV0wWFrGzpNwBzH2ZZDtA0M+ZcgeImZn85yiLBocEKZgnLZA6UTDgiVBdSeW/l54MVbGdljzxDljmx/X/ahwD1THIIUQ5YF8YK00ckGMlSpwDQo2kwKFATTzbiwcctUMjEYKwu6kb0ZjqDqgPzP9/pnI50RiknqoOOFg8nyQHrM7op64DYh3CiHYESB1IPSUOmD8AiXD+4GmUDnizfFB0TAa8azYoOqcDAQA78XGQ8730HgAAAABJRU5ErkJggg==';

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: 'stems', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);

if (!app.requestSingleInstanceLock()) app.quit();
if (process.platform === 'win32') app.setAppUserModelId('org.stemdeck.app');

// Packaged app: bundled models are extraResources; executables live in app.asar.unpacked.
if (app.isPackaged) {
  process.env.STEMDECK_BUNDLED_MODELS ??= path.join(process.resourcesPath, 'models');
  if (!process.env.STEMDECK_FFMPEG) {
    try {
      const req = createRequire(import.meta.url);
      const p = (req('@ffmpeg-installer/ffmpeg') as { path: string }).path.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
      if (fs.existsSync(p)) process.env.STEMDECK_FFMPEG = p;
    } catch {
      // locateFfmpeg() falls back to ffmpeg-static or PATH
    }
  }
}

const backend = new App({ shell: 'electron', spawnHost: utilityHost });
let win: BrowserWindow | null = null;

function registerProtocols(): void {
  protocol.handle('app', async (request) => {
    const url = new URL(request.url);
    if (url.host !== 'renderer') return new Response('Not found', { status: 404 });
    let rel = decodeURIComponent(url.pathname);
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = path.resolve(rendererDir, `.${rel}`);
    if (!file.startsWith(rendererDir + path.sep)) return new Response('Forbidden', { status: 403 });
    const target = fs.existsSync(file) ? file : path.join(rendererDir, 'index.html');
    return fileResponse(target, request, target.endsWith('.html') ? { 'content-security-policy': CSP } : {}).catch(() => new Response('Not found', { status: 404 }));
  });
  // the library, exports, drag-out files and running jobs' live files, through the PathGuard (media.ts)
  protocol.handle('stems', (request) => stemsResponse(request, backend.guard));
}

function fromOurRenderer(sender: WebContents, frameUrl: string | undefined): boolean {
  return !!win && sender === win.webContents && !!frameUrl && frameUrl.startsWith(`${APP_ORIGIN}/`);
}

const audioFilter = { name: 'Audio', extensions: [...AUDIO_EXTENSIONS].map((e) => e.slice(1)) };

/** Electron's own files.pick: native dialogs. */
const electronHandlers: Partial<Handlers> = {
  'files.pick': async ({ kind, typedPath }) => {
    if (!win) return { paths: [] };
    const properties: ('openFile' | 'openDirectory' | 'multiSelections' | 'createDirectory')[] =
      kind === 'files' ? ['openFile', 'multiSelections'] : kind === 'folder' ? ['openDirectory'] : ['openDirectory', 'createDirectory'];
    const r = await dialog.showOpenDialog(win, {
      title: kind === 'exportFolder' ? 'Export to folder' : kind === 'folder' ? 'Open a folder of songs' : 'Open songs',
      properties,
      ...(kind === 'files' ? { filters: [audioFilter, { name: 'All files', extensions: ['*'] }] } : {}),
      ...(typedPath ? { defaultPath: typedPath } : {}),
    });
    if (r.canceled) return { paths: [] };
    const chosen = r.filePaths.map((p) => backend.guard.choose(p));
    if (kind === 'folder') return { paths: (await Promise.all(chosen.map((d) => backend.expandFolder(d)))).flat() };
    return { paths: chosen };
  },
};

async function openFromMenu(kind: 'files' | 'folder'): Promise<void> {
  const pick = electronHandlers['files.pick'];
  if (!pick) return;
  const { paths } = await pick({ kind }, { shell: 'electron' });
  if (paths.length) await backend.openFiles(paths, undefined);
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open Songs…', accelerator: 'CmdOrCtrl+O', click: () => void openFromMenu('files') },
        { label: 'Open Folder…', accelerator: 'CmdOrCtrl+Shift+O', click: () => void openFromMenu('folder') },
        { type: 'separator' },
        { label: 'Show Library Folder', click: () => void shell.openPath(backend.library.root) },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'About Stemdeck', click: () => void dialog.showMessageBox({ message: `Stemdeck ${app.getVersion()}`, detail: 'Split songs into stems on your own computer.' }) }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function createWindow(): void {
  const icon = path.resolve(here, '..', '..', 'build', 'icons', '512x512.png');
  win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Stemdeck',
    backgroundColor: '#15171c',
    show: false,
    ...(fs.existsSync(icon) ? { icon } : {}),
    webPreferences: {
      preload: preloadFile,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (e, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) e.preventDefault();
  });
  win.webContents.on('will-redirect', (e) => e.preventDefault());
  // A crashed renderer is reloaded; the backend (and the engine host) keep running.
  win.webContents.on('render-process-gone', (_e, details) => {
    if (details.reason !== 'clean-exit' && win && !win.isDestroyed()) win.webContents.reload();
  });
  win.on('closed', () => {
    win = null;
  });
  void win.loadURL(`${APP_ORIGIN}/index.html`);
}

function registerIpc(): void {
  const dispatcher = createDispatcher({ ...backend.handlers(), ...electronHandlers });
  ipcMain.handle('stemdeck:invoke', async (e, method: unknown, params: unknown) => {
    if (!fromOurRenderer(e.sender, e.senderFrame?.url)) return { ok: false, error: { code: 'path-forbidden', message: 'Refused: not the Stemdeck window.' } };
    return dispatcher.dispatch(String(method), params, { shell: 'electron' });
  });
  ipcMain.on('stemdeck:chosen', (e, file: unknown) => {
    e.returnValue = false;
    if (!fromOurRenderer(e.sender, e.senderFrame?.url) || typeof file !== 'string' || !path.isAbsolute(file)) return;
    try {
      backend.guard.choose(file);
      e.returnValue = true;
    } catch {
      e.returnValue = false;
    }
  });
  ipcMain.on('stemdeck:start-drag', (e, file: unknown) => {
    if (!fromOurRenderer(e.sender, e.senderFrame?.url) || typeof file !== 'string') return;
    const ref = backend.guard.refFor(file);
    if (!ref) return; // only files inside the library / drag-out / exports folders
    let real: string;
    try {
      real = backend.guard.resolveMedia(ref);
    } catch {
      return;
    }
    // startDrag needs a non-empty icon (macOS throws otherwise); build/ is not packaged, so it is inlined.
    e.sender.startDrag({ file: real, icon: nativeImage.createFromDataURL(DRAG_ICON) });
  });
  // a song's stems in one drag (one DAW track per file): drag.ts checks the payload and every path
  ipcMain.on('stemdeck:start-drag-files', (e, payload: unknown) => {
    if (!fromOurRenderer(e.sender, e.senderFrame?.url)) return;
    startDragFiles(e.sender, payload, backend.guard, nativeImage.createFromDataURL(DRAG_ICON));
  });
  backend.on('event', (name, payload) => {
    if (win && !win.isDestroyed()) win.webContents.send('stemdeck:event', name, payload);
  });
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (ev) => ev.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

/** Files handed over by the OS (Finder "Open With", a file dropped on the dock/taskbar icon, argv): the user chose them. */
const pendingOpen: string[] = [];
let started = false;
function openFromOs(files: string[]): void {
  const audio = files.filter((f) => path.isAbsolute(f) && (AUDIO_EXTENSIONS.has(path.extname(f).toLowerCase()) || isDir(f)));
  if (!audio.length) return;
  if (!started) {
    pendingOpen.push(...audio);
    return;
  }
  const chosen: string[] = [];
  for (const f of audio) {
    try {
      chosen.push(backend.guard.choose(f));
    } catch {
      // vanished since; ignore
    }
  }
  if (chosen.length) void backend.openFiles(chosen, undefined).catch(() => undefined);
}
function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

app.on('open-file', (e, file) => {
  e.preventDefault();
  openFromOs([file]);
});

app.on('second-instance', (_e, argv) => {
  openFromOs(argv.slice(1));
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
});

app.whenReady().then(async () => {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // The renderer never loads remote content.
  session.defaultSession.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_d, callback) =>
    callback({ cancel: true }),
  );
  registerProtocols();
  await backend.start();
  registerIpc();
  buildMenu();
  createWindow();
  started = true;
  openFromOs([...pendingOpen, ...process.argv.slice(app.isPackaged ? 1 : 2)]);
  pendingOpen.length = 0;
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}).catch((e: unknown) => {
  dialog.showErrorBox('Stemdeck could not start', e instanceof Error ? e.message : String(e));
  app.quit();
});

let quitting = false;
app.on('before-quit', (e) => {
  if (quitting) return;
  quitting = true;
  e.preventDefault();
  void backend.stop().finally(() => app.quit());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
