/**
 * The browser shell: the renderer and the app API over HTTP + WebSocket on 127.0.0.1 only.
 *
 *   GET  /…                         the built renderer (out/renderer), no token needed
 *   POST /api/<method>              JSON params; header x-stemdeck-token; → { ok, result | error }
 *   WS   /events?token=…            { event, payload } messages
 *   GET  /media/<root>/<path>?token=…   stems, peaks, artwork, exports, drag-out files (Range)
 *   POST /upload?name=…             raw file body (streamed, hashed as it comes) into the import folder → { path }
 *   GET  /zip/<song id>?token=…     the song's stems as drag-out files, in one zip (stems-zip.ts)
 *
 * Every API call, media URL, upload and WebSocket needs the per-session random token; the Host
 * header must name the loopback address (DNS-rebinding guard); file access goes through PathGuard.
 */
import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { createDispatcher, SongIdSchema, type Handlers } from '../../api/contract.js';
import { fileNameWithSuffix } from '../../engine/output/file-names.js';
import { sendZip } from './stems-zip.js';
import { StreamingHash } from '../../host/content-hash.js';
import { StemdeckError } from '../../engine/errors.js';
import type { App } from '../../host/app.js';
import { contentSecurityPolicy } from '../csp.js';

export interface BrowserShellOptions {
  app: App;
  /** Folder with the built renderer (index.html); omit to serve a note instead. */
  rendererDir?: string | null;
  port?: number;
  token?: string;
  /** Extra/overriding handlers. */
  handlers?: Partial<Handlers>;
  /** Largest upload accepted (bytes). */
  maxUploadBytes?: number;
}

export interface BrowserShell {
  url: string;
  origin: string;
  port: number;
  token: string;
  server: http.Server;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
  '.mp4': 'audio/mp4',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

function tokenEquals(a: string | null | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { ok: false, error: { code, message } });
}

function statusFor(code: string): number {
  if (code === 'invalid-request') return 400;
  if (code === 'path-forbidden') return 403;
  if (code === 'input-missing' || code === 'model-unknown') return 404;
  return 500;
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new StemdeckError('invalid-request', 'Request too large.');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function serveFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, extraHeaders: Record<string, string> = {}): Promise<void> {
  const st = await fsp.stat(file);
  if (!st.isFile()) throw new StemdeckError('input-missing', 'Not a file.');
  const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  const headers: Record<string, string | number> = { 'content-type': type, 'accept-ranges': 'bytes', ...extraHeaders };
  const range = req.headers.range;
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      res.writeHead(416, { 'content-range': `bytes */${st.size}` });
      res.end();
      return;
    }
    if (m[1] === '') {
      start = Math.max(0, st.size - Number(m[2]));
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= st.size) {
      res.writeHead(416, { 'content-range': `bytes */${st.size}` });
      res.end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
  }
  headers['content-length'] = st.size === 0 ? 0 : end - start + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  await pipeline(fs.createReadStream(file, { start, end }), res);
}

export async function startBrowserShell(opts: BrowserShellOptions): Promise<BrowserShell> {
  const { app } = opts;
  const token = opts.token ?? crypto.randomBytes(24).toString('base64url');
  const dispatcher = createDispatcher({ ...app.handlers(), ...(opts.handlers ?? {}) });
  const rendererDir = opts.rendererDir ? path.resolve(opts.rendererDir) : null;
  const maxUpload = opts.maxUploadBytes ?? 4 * 1024 ** 3;
  let port = 0;
  let csp = '';

  const hostOk = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const originOk = (origin: string | undefined) => !origin || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      const err = e instanceof StemdeckError ? e : null;
      if (!res.headersSent) sendError(res, err ? statusFor(err.code) : 500, err?.code ?? 'internal', err?.message ?? `Internal error: ${String(e)}`);
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    if (!hostOk(req.headers.host)) return sendError(res, 403, 'path-forbidden', 'Wrong Host header.');
    if (!originOk(req.headers.origin)) return sendError(res, 403, 'path-forbidden', 'Cross-origin requests are refused.');
    const rawPath = (req.url ?? '/').split('?')[0];
    let decodedSegments: string[];
    try {
      decodedSegments = decodeURIComponent(rawPath).split(/[/\\]/);
    } catch {
      return sendError(res, 400, 'invalid-request', 'Bad URL.');
    }
    if (decodedSegments.includes('..') || rawPath.includes('\0')) return sendError(res, 400, 'path-forbidden', 'Paths may not contain "..".');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const pathname = url.pathname;

    if (pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return sendError(res, 405, 'invalid-request', 'Use POST.');
      if (!tokenEquals(req.headers['x-stemdeck-token'] as string | undefined, token))
        return sendError(res, 401, 'invalid-request', 'Missing or wrong session token. Open the URL printed by `npm start`.');
      const method = decodeURIComponent(pathname.slice(5));
      const text = await readBody(req, 4 * 1024 * 1024);
      let params: unknown = {};
      if (text.trim()) {
        try {
          params = JSON.parse(text);
        } catch {
          return sendError(res, 400, 'invalid-request', 'The request body is not JSON.');
        }
      }
      const out = await dispatcher.dispatch(method, params, { shell: 'browser' });
      return sendJson(res, out.ok ? 200 : statusFor(out.error.code), out);
    }

    if (pathname.startsWith('/media/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'invalid-request', 'Use GET.');
      if (!tokenEquals(url.searchParams.get('token'), token)) return sendError(res, 401, 'invalid-request', 'Missing or wrong session token.');
      let rel: string;
      try {
        rel = pathname
          .slice('/media/'.length)
          .split('/')
          .map((s) => decodeURIComponent(s))
          .join('/');
      } catch {
        return sendError(res, 400, 'invalid-request', 'Bad path.');
      }
      const file = app.guard.resolveMedia(rel);
      const download = url.searchParams.get('download');
      const extra: Record<string, string> = { 'cache-control': 'no-cache' };
      if (download !== null) extra['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(path.basename(file))}`;
      return serveFile(req, res, file, extra);
    }

    if (pathname.startsWith('/zip/')) {
      if (req.method !== 'GET') return sendError(res, 405, 'invalid-request', 'Use GET.');
      if (!tokenEquals(url.searchParams.get('token'), token)) return sendError(res, 401, 'invalid-request', 'Missing or wrong session token.');
      const id = SongIdSchema.safeParse(decodeURIComponent(pathname.slice('/zip/'.length)));
      if (!id.success) return sendError(res, 400, 'invalid-request', 'Not a song id.');
      const song = app.library.get(id.data);
      const { files } = await app.dragOutAll({ songId: song.id });
      return sendZip(
        res,
        files.map((f) => ({ path: f.path, name: f.fileName })),
        fileNameWithSuffix(song.title, ' (stems).zip'),
      );
    }

    if (pathname === '/upload') {
      if (req.method !== 'POST') return sendError(res, 405, 'invalid-request', 'Use POST.');
      if (!tokenEquals(req.headers['x-stemdeck-token'] as string | undefined, token)) return sendError(res, 401, 'invalid-request', 'Missing or wrong session token.');
      const name = url.searchParams.get('name') ?? 'upload';
      const len = Number(req.headers['content-length'] ?? 0);
      if (len > maxUpload) return sendError(res, 413, 'invalid-request', 'The file is too large.');
      const dest = await app.importPath(name);
      const tmp = `${dest}.part`;
      // hashed as it streams in: files.open takes this hash instead of reading the file again (app.hashes)
      const hash = new StreamingHash();
      try {
        await pipeline(
          req,
          async function* (source: AsyncIterable<Buffer>) {
            for await (const c of source) {
              hash.update(c);
              if (hash.bytes > maxUpload) throw new StemdeckError('invalid-request', 'The file is too large.');
              yield c;
            }
          },
          // a large buffer: the socket is read on while earlier chunks are written (16 KiB would pause it at each write)
          fs.createWriteStream(tmp, { highWaterMark: 8 << 20 }),
        );
        await fsp.rename(tmp, dest);
      } catch (e) {
        await fsp.rm(path.dirname(dest), { recursive: true, force: true });
        throw e;
      }
      const real = app.guard.choose(dest);
      await app.hashes.remember(real, hash.digest());
      return sendJson(res, 200, { ok: true, result: { path: real } });
    }

    // Static renderer.
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'invalid-request', 'Method not allowed.');
    if (!rendererDir) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Stemdeck backend is running; the renderer is not built (npm run build:renderer).\n');
      return;
    }
    let rel = decodeURIComponent(pathname);
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = path.resolve(rendererDir, `.${rel}`);
    if (!file.startsWith(rendererDir + path.sep)) return sendError(res, 403, 'path-forbidden', 'Forbidden.');
    const exists = await fsp.stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    const target = exists ? file : path.join(rendererDir, 'index.html');
    const headers: Record<string, string> = { 'cache-control': 'no-cache' };
    if (target.endsWith('.html')) {
      headers['content-security-policy'] = csp;
      headers['x-frame-options'] = 'DENY';
    }
    return serveFile(req, res, target, headers);
  }

  // WebSocket events.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== '/events' || !hostOk(req.headers.host) || !originOk(req.headers.origin) || !tokenEquals(url.searchParams.get('token'), token)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
    });
  });
  const onEvent = (event: string, payload: unknown) => {
    const msg = JSON.stringify({ event, payload });
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(msg);
  };
  app.on('event', onEvent);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  csp = contentSecurityPolicy({ shell: 'browser', origin });
  return {
    url: `${origin}/#token=${token}`,
    origin,
    port,
    token,
    server,
    async close() {
      app.off('event', onEvent);
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
