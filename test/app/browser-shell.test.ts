/**
 * The browser shell's security: listens on 127.0.0.1 only; every API call, media URL, upload
 * and the event socket need the session token; the Host header must be the loopback address;
 * paths outside the library and the user's chosen files are refused (.., encoded .., symlinks
 * out, absolute paths elsewhere); Range requests work; the static renderer carries the CSP.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { WebSocket } from 'ws';
import { App } from '../../src-main/host/app.js';
import { startBrowserShell, type BrowserShell } from '../../src-main/shells/browser/server.js';
import { isolatedHome, makeSong, tempDir, waitJobEnd } from './helpers.js';

let app: App;
let shell: BrowserShell;
let media = '';
let songId = '';
const secret = path.join(tempDir('stemdeck-secret-'), 'secret.txt');

function req(
  method: string,
  urlPath: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port: shell.port, method, path: urlPath, headers: { host: `127.0.0.1:${shell.port}`, ...(opts.headers ?? {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

async function call(method: string, params: unknown, token = shell.token): Promise<{ status: number; json: { ok: boolean; result?: unknown; error?: { code: string; message: string } } }> {
  const r = await req('POST', `/api/${method}`, { headers: { 'x-stemdeck-token': token, 'content-type': 'application/json' }, body: JSON.stringify(params) });
  return { status: r.status, json: JSON.parse(r.body.toString()) };
}

before(async () => {
  isolatedHome();
  media = tempDir('stemdeck-media-');
  fs.writeFileSync(secret, 'top secret');
  const renderer = tempDir('stemdeck-renderer-');
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Stemdeck</title>');
  app = new App({ shell: 'browser' });
  await app.start();
  await app.settings.set({ model: 'identity-waveform' });
  shell = await startBrowserShell({ app, rendererDir: renderer });
  // One real song through the real engine.
  const song = makeSong(path.join(media, 'song.wav'), 4, 'Shell Song');
  app.guard.choose(song);
  const r = await app.openFiles([song], undefined);
  const job = await waitJobEnd(app, r.jobs[0].id);
  assert.equal(job.status, 'done');
  songId = job.songId!;
});

after(async () => {
  await shell.close();
  await app.stop();
});

test('listens on 127.0.0.1 only', async () => {
  const addr = shell.server.address() as net.AddressInfo;
  assert.equal(addr.address, '127.0.0.1');
  assert.match(shell.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{20,}$/);
  // Not reachable on another local address of this machine.
  const other = Object.values((await import('node:os')).networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  if (other) {
    const reachable = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: other.address, port: shell.port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
      s.setTimeout(2000, () => {
        s.destroy();
        resolve(false);
      });
    });
    assert.equal(reachable, false);
  }
});

test('API calls need the token', async () => {
  const none = await req('POST', '/api/library.list', { body: '{}' });
  assert.equal(none.status, 401);
  const wrong = await call('library.list', {}, 'x'.repeat(shell.token.length));
  assert.equal(wrong.status, 401);
  const ok = await call('library.list', {});
  assert.equal(ok.status, 200);
  assert.equal(ok.json.ok, true);
  assert.equal((ok.json.result as unknown[]).length, 1);
  const get = await req('GET', '/api/library.list', { headers: { 'x-stemdeck-token': shell.token } });
  assert.equal(get.status, 405);
});

test('bad arguments over HTTP are refused with 400', async () => {
  const r = await call('library.get', { id: '../../etc' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error?.code, 'invalid-request');
  const bad = await req('POST', '/api/library.list', { headers: { 'x-stemdeck-token': shell.token }, body: '{not json' });
  assert.equal(bad.status, 400);
});

test('wrong Host header (DNS rebinding) and foreign Origin are refused', async () => {
  const r = await req('POST', '/api/library.list', { headers: { host: `evil.example:${shell.port}`, 'x-stemdeck-token': shell.token }, body: '{}' });
  assert.equal(r.status, 403);
  const o = await req('POST', '/api/library.list', { headers: { origin: 'http://evil.example', 'x-stemdeck-token': shell.token }, body: '{}' });
  assert.equal(o.status, 403);
});

test('media needs the token, serves stems with Range', async () => {
  const song = app.library.get(songId);
  const ref = song.stems[0].ref;
  const p = `/media/${ref.root}/${ref.path}`;
  assert.equal((await req('GET', p)).status, 401);
  assert.equal((await req('GET', `${p}?token=nope`)).status, 401);
  const full = await req('GET', `${p}?token=${shell.token}`);
  assert.equal(full.status, 200);
  assert.equal(full.headers['content-type'], 'audio/wav');
  assert.equal(full.body.subarray(0, 4).toString(), 'RIFF');
  const part = await req('GET', `${p}?token=${shell.token}`, { headers: { range: 'bytes=4-11' } });
  assert.equal(part.status, 206);
  assert.equal(part.body.length, 8);
  assert.deepEqual(part.body, full.body.subarray(4, 12));
  assert.equal(part.headers['content-range'], `bytes 4-11/${full.body.length}`);
  const tail = await req('GET', `${p}?token=${shell.token}`, { headers: { range: 'bytes=-10' } });
  assert.deepEqual(tail.body, full.body.subarray(full.body.length - 10));
  const bad = await req('GET', `${p}?token=${shell.token}`, { headers: { range: `bytes=${full.body.length + 5}-` } });
  assert.equal(bad.status, 416);
});

test('path escapes are refused: .., encoded .., symlinks out, absolute paths, other roots', async () => {
  const t = `token=${shell.token}`;
  const link = path.join(app.library.songDir(songId), 'evil-link');
  fs.symlinkSync(secret, link);
  const dirLink = path.join(app.library.root, 'evil-dir');
  fs.symlinkSync(path.dirname(secret), dirLink);
  const attempts = [
    `/media/library/../../../../etc/passwd?${t}`,
    `/media/library/%2e%2e/%2e%2e/etc/passwd?${t}`,
    `/media/library/${songId}/..%2f..%2f..%2fetc%2fpasswd?${t}`,
    `/media/library/%2Fetc%2Fpasswd?${t}`,
    `/media/library/${songId}/evil-link?${t}`,
    `/media/library/evil-dir/secret.txt?${t}`,
    `/media/home/secret.txt?${t}`,
    `/media/imports/x?${t}`,
    `/media/${encodeURIComponent(secret)}?${t}`,
  ];
  for (const a of attempts) {
    const r = await req('GET', a);
    assert.ok(r.status === 403 || r.status === 400 || r.status === 404, `${a}: ${r.status}`);
    assert.ok(!r.body.toString().includes('top secret'), a);
  }
  // Static files cannot escape the renderer folder either.
  const s = await req('GET', '/../../../../etc/passwd');
  assert.ok(!s.body.toString().includes('root:'));
  // The API refuses files the user did not choose.
  const open = await call('files.open', { paths: [secret] });
  assert.equal(open.status, 200);
  const result = open.json.result as { jobs: unknown[]; refused: { error: { code: string } }[] };
  assert.equal(result.jobs.length, 0);
  assert.equal(result.refused[0].error.code, 'path-forbidden');
  for (const p of ['/etc/passwd', `${app.library.root}/../../../etc/passwd`, 'relative/file.wav', path.join(app.library.root, 'evil-dir', 'secret.txt')]) {
    const r = await call('files.open', { paths: [p] });
    const res = r.json.result as { refused: { error: { code: string } }[] };
    assert.equal(res.refused[0]?.error.code, 'path-forbidden', p);
  }
  const exp = await call('export.run', { songId, format: 'wav16', mixdown: true, outDir: path.dirname(secret) });
  assert.equal(exp.json.error?.code, 'path-forbidden');
  fs.rmSync(link);
  fs.rmSync(dirLink);
});

test('the event socket needs the token', async () => {
  const url = `ws://127.0.0.1:${shell.port}/events`;
  const refused = await new Promise<boolean>((resolve) => {
    const ws = new WebSocket(`${url}?token=wrong`);
    ws.on('open', () => resolve(false));
    ws.on('error', () => resolve(true));
  });
  assert.equal(refused, true);
  const ws = new WebSocket(`${url}?token=${shell.token}`);
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  const got = new Promise<{ event: string; payload: unknown }>((resolve) => ws.on('message', (m) => resolve(JSON.parse(String(m)))));
  await call('settings.set', { overlap: 0.3 });
  const msg = await got;
  assert.equal(msg.event, 'settings');
  ws.close();
  await call('settings.set', { overlap: null });
});

test('upload needs the token, lands in the import folder and can be opened', async () => {
  const body = fs.readFileSync(path.join(media, 'song.wav'));
  const no = await req('POST', '/upload?name=x.wav', { body });
  assert.equal(no.status, 401);
  const r = await req('POST', `/upload?name=${encodeURIComponent('../../evil name.wav')}`, { headers: { 'x-stemdeck-token': shell.token }, body });
  assert.equal(r.status, 200);
  const up = JSON.parse(r.body.toString()) as { result: { path: string } };
  assert.ok(up.result.path.startsWith(fs.realpathSync(app.importsDir)));
  assert.equal(path.basename(up.result.path), 'evil name.wav');
  const open = await call('files.open', { paths: [up.result.path] });
  const res = open.json.result as { existing: { songId: string }[] };
  assert.equal(res.existing[0]?.songId, songId, 'same content → same song');
});

test('typed paths (browser path-input) become chosen files', async () => {
  const other = makeSong(path.join(media, 'typed.wav'), 2, 'Typed');
  const refusedFirst = await call('files.open', { paths: [other] });
  assert.equal((refusedFirst.json.result as { refused: unknown[] }).refused.length, 1);
  const pick = await call('files.pick', { kind: 'files', typedPath: other });
  assert.deepEqual((pick.json.result as { paths: string[] }).paths, [fs.realpathSync(other)]);
  const notAudio = await call('files.pick', { kind: 'files', typedPath: secret });
  assert.equal(notAudio.json.error?.code, 'input-not-audio');
  const open = await call('files.open', { paths: [other] });
  assert.equal((open.json.result as { jobs: unknown[] }).jobs.length, 1);
});

test('the renderer is served with a strict CSP', async () => {
  const r = await req('GET', '/');
  assert.equal(r.status, 200);
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-eval|https?:\/\/(?!127\.0\.0\.1)/);
  assert.match(csp, /object-src 'none'/);
});
