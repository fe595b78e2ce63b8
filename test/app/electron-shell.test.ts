/**
 * The Electron main process (src-main/electron/main.ts) cannot run here (no Electron binary), so
 * it runs against a recording stand-in for the 'electron' module (fixtures/electron-stub.ts) with
 * the real backend and the real engine host: secure window options, navigation/new windows/
 * permissions/remote requests refused, IPC validated and limited to our renderer, the `stems:`
 * protocol confined to the allowed roots (Range works), native dialogs choose files, jobs run and
 * push events, startDrag gets a real file and nothing else.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isolatedHome, makeSong, tempDir } from './helpers.js';

const stubUrl = pathToFileURL(path.join(import.meta.dirname, 'fixtures', 'electron-stub.ts')).href;
register(
  `data:text/javascript,${encodeURIComponent(
    `export async function resolve(s, c, next) { return s === 'electron' ? { url: ${JSON.stringify(stubUrl)}, shortCircuit: true } : next(s, c); }`,
  )}`,
);

type Stub = typeof import('./fixtures/electron-stub.js');
let stub: Stub;
let media = '';
const ours = () => ({ sender: stub.rec.windows[0].webContents, senderFrame: { url: 'app://renderer/index.html' } });

async function invoke(method: string, params: unknown, event: unknown = ours()): Promise<{ ok: boolean; result?: any; error?: { code: string; message: string } }> {
  return stub.rec.ipcHandle.get('stemdeck:invoke')!(event, method, params);
}

async function waitUntil(pred: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  isolatedHome();
  media = tempDir('stemdeck-electron-media-');
  stub = (await import(stubUrl)) as Stub;
  // A computed specifier: tsc must not follow it (src-main/electron is type-checked only with electron's types).
  await import(pathToFileURL(path.join(import.meta.dirname, '..', '..', 'src-main', 'electron', 'main.ts')).href);
  stub.app.fireReady();
  await waitUntil(() => stub.rec.windows.length === 1);
});

after(async () => {
  const quitHandlers = stub.app.listeners('before-quit') as ((e: { preventDefault(): void }) => void)[];
  for (const h of quitHandlers) h({ preventDefault() {} });
  await waitUntil(() => stub.rec.quit > 0, 10_000);
});

test('one window with secure defaults, loading the renderer from app://', () => {
  const win = stub.rec.windows[0];
  const wp = win.options.webPreferences;
  assert.equal(wp.contextIsolation, true);
  assert.equal(wp.sandbox, true);
  assert.equal(wp.nodeIntegration, false);
  assert.equal(wp.webSecurity, true);
  assert.equal(wp.webviewTag, false);
  // Built layout: out/main/index.js → out/preload/index.cjs (electron.vite.config.ts); here from source.
  assert.equal(wp.preload, path.resolve(import.meta.dirname, '..', '..', 'src-main', 'preload', 'index.cjs'));
  assert.equal(win.url, 'app://renderer/index.html');
  assert.ok(stub.rec.menu, 'a menu');
});

test('navigation, new windows, permissions and remote requests are refused', () => {
  const wc = stub.rec.windows[0].webContents;
  assert.deepEqual(wc.windowOpenHandler!({ url: 'https://example.com' }), { action: 'deny' });
  let prevented = false;
  wc.emit('will-navigate', { preventDefault: () => (prevented = true) }, 'https://evil.example/');
  assert.equal(prevented, true);
  let granted: boolean | null = null;
  stub.rec.permissionHandler!(wc, 'media', (ok: boolean) => (granted = ok));
  assert.equal(granted, false);
  let cancel: boolean | null = null;
  stub.rec.beforeRequest!.fn({ url: 'https://cdn.example/x.js' }, (r: { cancel: boolean }) => (cancel = r.cancel));
  assert.equal(cancel, true);
  let headers: Record<string, string[]> = {};
  stub.rec.headersReceived!({ responseHeaders: {} }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
  assert.match(headers['Content-Security-Policy'][0], /default-src 'self'/);
  wc.emit('render-process-gone', {}, { reason: 'crashed' });
  assert.equal(wc.reloads, 1, 'a crashed renderer is reloaded');
  const schemes = stub.rec.privileged.map((p) => (p as { scheme: string }).scheme).sort();
  assert.deepEqual(schemes, ['app', 'stems']);
});

test('IPC: only our renderer, every argument validated', async () => {
  const ok = await invoke('library.list', {});
  assert.equal(ok.ok, true);
  const foreign = await invoke('library.list', {}, { sender: {}, senderFrame: { url: 'https://evil.example/' } });
  assert.equal(foreign.ok, false);
  const frame = await invoke('library.list', {}, { sender: stub.rec.windows[0].webContents, senderFrame: { url: 'file:///tmp/x.html' } });
  assert.equal(frame.ok, false);
  const bad = await invoke('library.get', { id: '../../etc/passwd' });
  assert.equal(bad.error?.code, 'invalid-request');
  const unknown = await invoke('fs.readFile', { path: '/etc/passwd' });
  assert.equal(unknown.error?.code, 'invalid-request');
  const notChosen = await invoke('files.open', { paths: ['/etc/passwd'] });
  assert.equal(notChosen.result.refused[0].error.code, 'path-forbidden');
});

test('dialog → open → job in the utility process → events → stems: protocol → startDrag', async () => {
  const set = await invoke('settings.set', { model: 'identity-waveform' });
  assert.equal(set.ok, true, JSON.stringify(set.error));
  const song = makeSong(path.join(media, 'electron song.wav'), 3, 'Electron Song');
  stub.rec.dialogResult = { canceled: false, filePaths: [song] };
  const pick = await invoke('files.pick', { kind: 'files' });
  assert.deepEqual(pick.result.paths, [fs.realpathSync(song)]);
  const open = await invoke('files.open', { paths: pick.result.paths });
  assert.equal(open.result.jobs.length, 1);
  const id = open.result.jobs[0].id;
  await waitUntil(() => stub.rec.sent.some((s) => s.channel === 'stemdeck:event' && s.args[0] === 'job' && (s.args[1] as any).id === id && (s.args[1] as any).status === 'done'));
  const done = stub.rec.sent.find((s) => s.args[0] === 'job' && (s.args[1] as any).id === id && (s.args[1] as any).status === 'done')!.args[1] as { songId: string };
  const got = await invoke('library.get', { id: done.songId });
  const ref = got.result.stems[0].ref as { root: string; path: string };

  const stems = stub.rec.protocols.get('stems')!;
  const full: Response = await stems(new Request(`stems://${ref.root}/${ref.path}`));
  assert.equal(full.status, 200);
  const body = Buffer.from(await full.arrayBuffer());
  assert.equal(body.subarray(0, 4).toString(), 'RIFF');
  const part: Response = await stems(new Request(`stems://${ref.root}/${ref.path}`, { headers: { range: 'bytes=0-3' } }));
  assert.equal(part.status, 206);
  assert.equal(Buffer.from(await part.arrayBuffer()).toString(), 'RIFF');
  for (const bad of ['stems://library/../../etc/passwd', 'stems://library/%2e%2e/%2e%2e/etc/passwd', 'stems://home/x', `stems://library/${encodeURIComponent('/etc/passwd')}`]) {
    const r: Response = await stems(new Request(bad));
    assert.ok(r.status === 403 || r.status === 404, `${bad}: ${r.status}`);
  }

  const drag = await invoke('dragout.prepare', { songId: done.songId, target: 'vocals' });
  assert.equal(drag.ok, true, JSON.stringify(drag.error));
  const startDrag = stub.rec.ipcOn.get('stemdeck:start-drag')!;
  startDrag(ours(), drag.result.path);
  assert.equal(stub.rec.drags.length, 1);
  assert.equal(stub.rec.drags[0].file, fs.realpathSync(drag.result.path));
  startDrag(ours(), '/etc/passwd');
  startDrag({ sender: {}, senderFrame: { url: 'https://evil.example/' } }, drag.result.path);
  assert.equal(stub.rec.drags.length, 1, 'no drag of files outside the app folders or from foreign senders');
});

test('dropped files are recorded as chosen only through the preload channel from our window', async () => {
  const f = makeSong(path.join(media, 'dropped.wav'), 1, 'Dropped');
  const chosen = stub.rec.ipcOn.get('stemdeck:chosen')!;
  const foreign = { sender: {}, senderFrame: { url: 'https://evil.example/' }, returnValue: undefined as unknown };
  chosen(foreign, f);
  assert.equal(foreign.returnValue, false);
  const before = await invoke('files.open', { paths: [f] });
  assert.equal(before.result.refused.length, 1);
  const ev = { ...ours(), returnValue: undefined as unknown };
  chosen(ev, f);
  assert.equal(ev.returnValue, true);
  const afterOpen = await invoke('files.open', { paths: [f] });
  assert.equal(afterOpen.result.jobs.length, 1);
});

test('files handed over by the OS (open-file, second instance argv) are opened', async () => {
  const f = makeSong(path.join(media, 'from finder.wav'), 1, 'From Finder', 880);
  const n = stub.rec.sent.filter((s) => s.args[0] === 'job' && (s.args[1] as any).input === fs.realpathSync(f)).length;
  let prevented = false;
  stub.app.emit('open-file', { preventDefault: () => (prevented = true) }, f);
  assert.equal(prevented, true);
  await waitUntil(() => stub.rec.sent.filter((s) => s.args[0] === 'job' && (s.args[1] as any).input === fs.realpathSync(f)).length > n);
  const g = makeSong(path.join(media, 'argv.wav'), 1, 'Argv', 990);
  stub.app.emit('second-instance', {}, ['/usr/bin/stemdeck', g, '/etc/passwd']);
  await waitUntil(() => stub.rec.sent.some((s) => s.args[0] === 'job' && (s.args[1] as any).input === fs.realpathSync(g)));
  assert.ok(!stub.rec.sent.some((s) => s.args[0] === 'job' && (s.args[1] as any).input === '/etc/passwd'));
});
