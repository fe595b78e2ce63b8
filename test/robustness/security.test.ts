// Security (issue 7 §5), complementing A1's test/app/browser-shell.test.ts and M1's download tests
// with more hostile cases:
//  - the API (the one dispatcher both shells use: IPC in Electron, HTTP in the browser shell)
//    refuses paths outside the allowed roots: '..', symlinks out (file, folder, a chosen file
//    swapped for a symlink after it was chosen), absolute paths elsewhere, sibling-prefix folders,
//    NUL bytes, song ids with path characters;
//  - the browser shell listens on 127.0.0.1 only (not ::1, not the machine's other addresses),
//    needs its token on every route (empty, wrong, prefix, query-instead-of-header), grants no CORS;
//  - the renderer loads no remote content: its CSP allows only 'self', its sources and the built
//    files reference no remote URL that a browser would load;
//  - model downloads verify checksums: a resume whose second half is tampered, a stale poisoned
//    partial file, and a redirect to plain http are refused and install nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { App } from '../../src-main/host/app.js';
import { createDispatcher } from '../../src-main/api/contract.js';
import { startBrowserShell, type BrowserShell } from '../../src-main/shells/browser/server.js';
import { contentSecurityPolicy } from '../../src-main/shells/csp.js';
import { installCatalogueModel, partialPath } from '../../src-main/engine/models/download.js';
import type { CatalogueEntry } from '../../src-main/engine/models/catalogue.js';
import { isStemdeckError } from '../../src-main/engine/errors.js';
import { fixtureModels, listFiles, makeTone, repoRoot, tempDir, useTempHome } from './helpers.js';

let app: App;
let shell: BrowserShell;
let home = '';
let outside = '';
let secret = '';
let chosenDir = '';

before(async () => {
  home = useTempHome();
  fs.cpSync(path.join(fixtureModels, 'identity-waveform'), path.join(home, 'models', 'identity-waveform'), { recursive: true });
  outside = tempDir('stemdeck-outside-');
  secret = makeTone(path.join(outside, 'secret.wav'), 0.5, { codec: ['-c:a', 'pcm_s16le'], variant: 9 });
  chosenDir = tempDir('stemdeck-chosen-');
  app = new App({ shell: 'browser' });
  await app.start();
  const renderer = tempDir('stemdeck-renderer-');
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Stemdeck</title>');
  shell = await startBrowserShell({ app, rendererDir: renderer });
});
after(async () => {
  await shell.close();
  await app.stop();
  for (const d of [home, outside, chosenDir]) fs.rmSync(d, { recursive: true, force: true });
});

function request(
  urlPath: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; host?: string; port?: number } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const port = opts.port ?? shell.port;
    const r = http.request(
      { host: opts.host ?? '127.0.0.1', port, method: opts.method ?? 'GET', path: urlPath, headers: { host: `127.0.0.1:${port}`, ...(opts.headers ?? {}) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    r.on('error', reject);
    r.end(opts.body);
  });
}

// ─── the API refuses paths outside the allowed roots ─────────────────────────────

test('API (dispatcher used by IPC and HTTP) refuses paths outside the allowed roots', async () => {
  const d = createDispatcher(app.handlers());
  const lib = app.library.root;
  // A folder the user chose, holding a good file, a symlink to a file outside and a symlinked folder.
  const inside = makeTone(path.join(chosenDir, 'mine.wav'), 0.5, { codec: ['-c:a', 'pcm_s16le'], variant: 8 });
  fs.symlinkSync(secret, path.join(chosenDir, 'link-to-secret.wav'));
  fs.symlinkSync(outside, path.join(chosenDir, 'link-to-outside'));
  app.guard.choose(chosenDir);
  // A sibling folder whose name starts with the library's name (prefix trick).
  const sibling = `${lib}-evil`;
  fs.mkdirSync(sibling, { recursive: true });
  fs.copyFileSync(secret, path.join(sibling, 'x.wav'));

  const refusedPaths = [
    secret,
    path.join(lib, '..', '..', path.relative(path.dirname(path.dirname(lib)), secret)),
    `${chosenDir}/../${path.basename(outside)}/secret.wav`,
    path.join(chosenDir, 'link-to-secret.wav'),
    path.join(chosenDir, 'link-to-outside', 'secret.wav'),
    path.join(sibling, 'x.wav'),
    '/etc/passwd',
    'secret.wav',
    `./${path.relative(process.cwd(), secret)}`,
  ];
  for (const p of refusedPaths) {
    const out = await d.dispatch('files.open', { paths: [p] }, { shell: 'browser' });
    assert.ok(out.ok, JSON.stringify(out));
    const r = out.result as { jobs: unknown[]; refused: { error: { code: string } }[] };
    assert.equal(r.jobs.length, 0, `${p} must not be separated`);
    assert.equal(r.refused[0]?.error.code, 'path-forbidden', `${p}: ${JSON.stringify(r.refused)}`);
  }
  // A NUL byte is refused at the schema boundary.
  const nul = await d.dispatch('files.open', { paths: [`${inside}\0.txt`] }, { shell: 'browser' });
  assert.ok(!nul.ok && nul.error.code === 'invalid-request', JSON.stringify(nul));
  // Song ids with path characters never reach the file system.
  for (const id of ['../x', '..', 'a/b', '.tmp-x', `x\0`, '/etc']) {
    for (const method of ['library.get', 'library.delete'] as const) {
      const out = await d.dispatch(method, { id }, { shell: 'browser' });
      assert.ok(!out.ok && out.error.code === 'invalid-request', `${method} ${JSON.stringify(id)}: ${JSON.stringify(out)}`);
    }
  }
  // A file chosen by the user, then swapped for a symlink to somewhere else, is refused.
  const swapped = makeTone(path.join(outside, 'swap.wav'), 0.5, { codec: ['-c:a', 'pcm_s16le'], variant: 7 });
  const swapDir = tempDir('stemdeck-swap-');
  const chosenFile = path.join(swapDir, 'song.wav');
  fs.copyFileSync(inside, chosenFile);
  app.guard.choose(chosenFile);
  fs.rmSync(chosenFile);
  fs.symlinkSync(swapped, chosenFile);
  const sw = await d.dispatch('files.open', { paths: [chosenFile] }, { shell: 'browser' });
  const swr = sw.ok ? (sw.result as { jobs: unknown[]; refused: { error: { code: string } }[] }) : null;
  assert.ok(swr && swr.jobs.length === 0 && swr.refused[0]?.error.code === 'path-forbidden', `swapped symlink: ${JSON.stringify(sw)}`);
  // Export targets: only folders the user chose (or the exports folder), never via a symlink out.
  fs.symlinkSync(outside, path.join(app.exportsDir, 'link-out'));
  for (const outDir of [outside, path.join(app.exportsDir, 'link-out'), path.join(app.exportsDir, '..', '..')]) {
    const out = await d.dispatch('export.run', { songId: 'nosuchsong', format: 'wav16', mixdown: true, outDir }, { shell: 'browser' });
    assert.ok(!out.ok, `${outDir}: ${JSON.stringify(out)}`);
    assert.ok(['path-forbidden', 'input-missing', 'invalid-request'].includes(out.error.code), JSON.stringify(out.error));
    assert.notEqual(out.error.code, 'internal');
  }
  // The allowed case works, so the refusals above are not just "everything refused".
  const ok = await d.dispatch('files.open', { paths: [inside] }, { shell: 'browser' });
  assert.ok(ok.ok && (ok.result as { jobs: unknown[] }).jobs.length === 1, JSON.stringify(ok));
  // Nothing from outside got into the library or next to the secret.
  assert.deepEqual(fs.readdirSync(outside).sort(), ['secret.wav', 'swap.wav']);
  fs.rmSync(swapDir, { recursive: true, force: true });
  fs.rmSync(sibling, { recursive: true, force: true });
});

test('the same refusals over HTTP: 403/400, never the file', async () => {
  const t = shell.token;
  const body = JSON.stringify({ paths: [path.join(chosenDir, 'link-to-secret.wav')] });
  const r = await request('/api/files.open', { method: 'POST', headers: { 'x-stemdeck-token': t, 'content-type': 'application/json' }, body });
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).result.refused[0].error.code, 'path-forbidden');
  const secretBytes = fs.readFileSync(secret).subarray(44, 100).toString('latin1');
  for (const p of [
    `/media/library/..%2f..%2f${encodeURIComponent(path.basename(outside))}%2fsecret.wav`,
    `/media/library/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
    `/media/library/.%2e/.%2e/.%2e/etc/passwd`,
    `/media/library//etc/passwd`,
    `/media/library/%5c..%5c..%5cetc%5cpasswd`,
  ]) {
    const res = await request(`${p}${p.includes('?') ? '&' : '?'}token=${t}`);
    assert.ok([400, 403, 404].includes(res.status), `${p}: ${res.status}`);
    assert.ok(!res.body.includes('root:') && !res.body.includes(secretBytes), p);
  }
});

// ─── the browser shell: loopback only, token everywhere, no CORS ────────────────

test('the browser shell listens on 127.0.0.1 only', async () => {
  const addr = shell.server.address() as AddressInfo;
  assert.equal(addr.address, '127.0.0.1');
  const tryConnect = (host: string): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect({ host, port: shell.port, timeout: 1500 });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
  assert.equal(await tryConnect('127.0.0.1'), true);
  assert.equal(await tryConnect('::1'), false, 'not on IPv6 loopback');
  const external = Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => !!i && !i.internal)
    .map((i) => i.address);
  for (const a of external) assert.equal(await tryConnect(a), false, `not reachable on ${a}`);
});

test('every route needs the session token (header for API/upload, query for media/events); no CORS grant', async () => {
  const wrong = [undefined, '', 'x', shell.token.slice(0, -1), `${shell.token}x`, shell.token.toUpperCase()];
  for (const tok of wrong) {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (tok !== undefined) h['x-stemdeck-token'] = tok;
    const api = await request('/api/settings.get', { method: 'POST', headers: h, body: '{}' });
    assert.equal(api.status, 401, `api with token ${JSON.stringify(tok)}`);
    const up = await request('/upload?name=a.wav', { method: 'POST', headers: h, body: 'RIFF' });
    assert.equal(up.status, 401, `upload with token ${JSON.stringify(tok)}`);
    const media = await request(`/media/library/x.wav${tok === undefined ? '' : `?token=${encodeURIComponent(tok)}`}`);
    assert.equal(media.status, 401, `media with token ${JSON.stringify(tok)}`);
  }
  // The API token must be in the header: a query token is not enough.
  const q = await request(`/api/settings.get?token=${shell.token}`, { method: 'POST', body: '{}' });
  assert.equal(q.status, 401);
  // The right token works.
  const ok = await request('/api/settings.get', { method: 'POST', headers: { 'x-stemdeck-token': shell.token }, body: '{}' });
  assert.equal(ok.status, 200);
  // A page on another origin gets no CORS grant (preflight or simple request).
  const pre = await request('/api/settings.get', {
    method: 'OPTIONS',
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-stemdeck-token' },
  });
  assert.equal(pre.headers['access-control-allow-origin'], undefined);
  const cross = await request('/api/settings.get', { method: 'POST', headers: { origin: 'http://evil.example', 'x-stemdeck-token': shell.token }, body: '{}' });
  assert.equal(cross.status, 403);
  assert.equal(cross.headers['access-control-allow-origin'], undefined);
  // DNS rebinding: a foreign Host header is refused even with the token.
  const rebind = await request('/api/settings.get', { method: 'POST', headers: { host: `evil.example:${shell.port}`, 'x-stemdeck-token': shell.token }, body: '{}' });
  assert.equal(rebind.status, 403);
});

// ─── the renderer loads no remote content ────────────────────────────────────────

/** URLs a browser would fetch: src/href/url()/import/fetch/srcset/@import with http(s) or //host. */
const REMOTE_LOAD =
  /(?:\b(?:src|href|action|poster|data|srcset)\s*=\s*["'`]?\s*|url\(\s*["']?|@import\s+["']|\bimport\s*\(\s*["'`]|\bfrom\s+["'`]|\bfetch\s*\(\s*["'`]|new\s+(?:WebSocket|EventSource|Worker)\s*\(\s*["'`])(?:https?:|wss?:)?\/\/(?!127\.0\.0\.1|localhost)[a-z0-9.-]+/gi;

function scan(dir: string, exts: RegExp): string[] {
  const hits: string[] = [];
  for (const rel of listFiles(dir)) {
    if (!exts.test(rel) || rel.includes('node_modules')) continue;
    const text = fs.readFileSync(path.join(dir, rel), 'utf8');
    for (const m of text.matchAll(REMOTE_LOAD)) hits.push(`${rel}: ${m[0]}`);
  }
  return hits;
}

test('the renderer loads no remote content: CSP, sources and built files', () => {
  for (const shellKind of ['browser', 'electron'] as const) {
    const csp = contentSecurityPolicy({ shell: shellKind, origin: 'http://127.0.0.1:1234' });
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    assert.deepEqual(directives['default-src'], ["'self'"]);
    assert.deepEqual(directives['script-src'], ["'self'"], 'no inline or remote scripts, no eval');
    assert.deepEqual(directives['object-src'], ["'none'"]);
    for (const [k, vals] of Object.entries(directives))
      for (const v of vals as string[]) {
        assert.ok(!/^https?:\/\/(?!127\.0\.0\.1)|^\*$|^https?:$|^wss?:$/.test(v), `${shellKind} CSP ${k} allows ${v}`);
        assert.notEqual(v, "'unsafe-eval'", `${shellKind} CSP ${k}`);
      }
  }
  // The scanner finds what it should (so an empty result below means something).
  const probeDir = tempDir('stemdeck-scan-');
  fs.writeFileSync(path.join(probeDir, 'a.html'), '<link href="https://fonts.googleapis.com/css2?family=Inter" rel="stylesheet"><img src="//cdn.example/x.png">');
  fs.writeFileSync(path.join(probeDir, 'b.css'), '@import url("https://cdn.example/x.css");');
  assert.equal(scan(probeDir, /\.(html|css)$/).length, 3);
  fs.rmSync(probeDir, { recursive: true, force: true });

  const src = scan(path.join(repoRoot, 'src-renderer'), /\.(svelte|ts|js|html|css)$/);
  assert.deepEqual(src, [], 'renderer sources load nothing remote');
  const built = path.join(repoRoot, 'out', 'renderer');
  if (fs.existsSync(path.join(built, 'index.html'))) {
    assert.deepEqual(scan(built, /\.(html|js|css|mjs)$/), [], 'the built renderer loads nothing remote');
    const html = fs.readFileSync(path.join(built, 'index.html'), 'utf8');
    for (const m of html.matchAll(/<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["']([^"']+)["']/gi))
      assert.ok(!/^(?:[a-z]+:)?\/\//i.test(m[1]), `index.html loads ${m[1]}`);
  }
});

// ─── model downloads verify checksums ─────────────────────────────────────────────

interface Srv {
  url: string;
  close(): Promise<void>;
  requests: string[];
}

/** Serves `first` for a full request (cut after `cutAfter` bytes) and `resume` for Range requests. */
async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Srv> {
  const requests: string[] = [];
  const s = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`);
    handler(req, res);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/m/model.onnx`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

function entryFor(url: string, data: Buffer): CatalogueEntry {
  return {
    id: 'sec-model',
    name: 'Security test model',
    description: 'loopback',
    architecture: 'htdemucs',
    stems: ['drums', 'bass', 'other', 'vocals'],
    url,
    file: 'sec-model.onnx',
    sha256: createHash('sha256').update(data).digest('hex'),
    bytes: data.length,
    license: 'test',
    terms: 'Test terms.',
    contract: {
      io: 'htdemucs',
      sampleRate: 44100,
      channels: 2,
      stems: ['drums', 'bass', 'other', 'vocals'],
      segment: { samples: 343980, overlap: 0.25 },
      tensors: { input: 'input', output: 'output' },
      normalize: 'mixture-std',
    },
    provenance: {},
  } as CatalogueEntry;
}

const DATA = randomBytes(600 * 1024 + 17);

async function expectRefused(p: Promise<unknown>, codes: string[]): Promise<void> {
  let err: unknown = null;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(isStemdeckError(err) && codes.includes(err.code), `refused with ${codes.join('|')}, got ${err === null ? 'success' : String(err)}`);
}

test('downloads: a resume whose second half is tampered is refused, nothing installed', async () => {
  const dir = tempDir('stemdeck-dl-');
  const tampered = Buffer.from(DATA);
  for (let i = 400 * 1024; i < tampered.length; i += 1000) tampered[i] ^= 0x01;
  let full = 0;
  const srv = await server((req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      res.writeHead(206, { 'content-length': String(DATA.length - start), 'content-range': `bytes ${start}-${DATA.length - 1}/${DATA.length}` });
      res.end(tampered.subarray(start));
      return;
    }
    full++;
    res.writeHead(200, { 'content-length': String(DATA.length) });
    // the honest first half, then the connection drops
    res.write(DATA.subarray(0, 300 * 1024), () => res.socket?.destroy());
  });
  try {
    await expectRefused(installCatalogueModel(entryFor(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir, retries: 3 }), ['checksum']);
    assert.ok(srv.requests.some((r) => /bytes=\d+-/.test(r)), `a resume was attempted: ${srv.requests.join(' | ')}`);
    assert.equal(full, 1);
    assert.deepEqual(listFiles(dir).filter((f) => !f.startsWith('.downloads/')), [], 'nothing installed');
    assert.equal(fs.existsSync(path.join(dir, 'sec-model')), false);
    assert.deepEqual(listFiles(path.join(dir, '.downloads')), [], 'the poisoned partial file is deleted');
  } finally {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('downloads: a stale poisoned partial file is caught; the next attempt installs the real file', async () => {
  const dir = tempDir('stemdeck-dl-');
  const srv = await server((req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, {
      'content-length': String(DATA.length - start),
      ...(m ? { 'content-range': `bytes ${start}-${DATA.length - 1}/${DATA.length}` } : {}),
    });
    res.end(DATA.subarray(start));
  });
  try {
    const entry = entryFor(srv.url, DATA);
    const part = partialPath(dir, entry);
    fs.mkdirSync(path.dirname(part), { recursive: true });
    fs.writeFileSync(part, randomBytes(200 * 1024)); // garbage left by someone else
    await expectRefused(installCatalogueModel(entry, { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir }), ['checksum']);
    assert.equal(fs.existsSync(path.join(dir, 'sec-model')), false, 'nothing installed');
    assert.equal(fs.existsSync(part), false, 'the poisoned partial file is deleted');
    const r = await installCatalogueModel(entry, { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir });
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'sec-model.onnx')), DATA);
  } finally {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('downloads: a redirect to plain http elsewhere is refused before connecting', async () => {
  const dir = tempDir('stemdeck-dl-');
  const srv = await server((_req, res) => {
    res.writeHead(302, { location: 'http://198.51.100.7/model.onnx' });
    res.end();
  });
  try {
    await expectRefused(installCatalogueModel(entryFor(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir, timeoutMs: 3000 }), ['network']);
    assert.equal(fs.existsSync(path.join(dir, 'sec-model')), false);
    // and a catalogue URL over http is refused outright (no loopback exception in the app)
    await expectRefused(installCatalogueModel(entryFor(srv.url, DATA), { acceptTerms: true, modelsDir: dir, timeoutMs: 3000 }), ['network']);
  } finally {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every catalogue entry is https with a sha256 and a size', () => {
  const cat = JSON.parse(fs.readFileSync(path.join(repoRoot, 'resources', 'catalogue.json'), 'utf8')) as { models?: { url: string; sha256: string; bytes: number }[] };
  const models = cat.models ?? [];
  assert.ok(models.length > 0, 'the catalogue lists models');
  for (const m of models) {
    assert.match(m.url, /^https:\/\//, m.url);
    assert.match(m.sha256, /^[0-9a-f]{64}$/, m.url);
    assert.ok(m.bytes > 0, m.url);
  }
});
