/**
 * What the Electron shell's custom schemes answer, kept free of Electron's runtime (fetch's Request
 * and Response are Node's own) so that it is tested without a window:
 * - `fileResponse`: one file, with HTTP Range (206 / 416), as `app://` and `stems://` serve it;
 * - `stemsResponse`: `stems://<root>/<path>` — the library, exports, drag-out files and a running
 *   job's live files (`stems://live/<job>/mixture.f32`, play while it separates) — each through
 *   PathGuard.resolveMedia, the one check both shells use: the path must stay inside its root after
 *   symbolic links are resolved; anything else is 403 (or 404 when it is not there).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { MediaRef } from '../api/contract.js';
import { StemdeckError } from '../engine/errors.js';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
  '.mp4': 'audio/mp4',
  '.bin': 'application/octet-stream',
};

/** The part of the PathGuard the `stems:` scheme needs. */
export interface MediaGuard {
  resolveMedia(ref: MediaRef | string): string;
}

/** `file` as the answer to `request` (a Range request gets its bytes: 206, or 416 past the end). */
export async function fileResponse(file: string, request: Request, headers: Record<string, string> = {}): Promise<Response> {
  const st = await fsp.stat(file);
  if (!st.isFile()) throw new StemdeckError('input-missing', 'Not a file.');
  const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.get('range') ?? '');
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const h: Record<string, string> = { 'content-type': type, 'accept-ranges': 'bytes', ...headers };
  if (range && (range[1] !== '' || range[2] !== '')) {
    if (range[1] === '') start = Math.max(0, st.size - Number(range[2]));
    else {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(end, Number(range[2]));
    }
    if (start > end || start >= st.size) return new Response(null, { status: 416, headers: { 'content-range': `bytes */${st.size}` } });
    status = 206;
    h['content-range'] = `bytes ${start}-${end}/${st.size}`;
  }
  h['content-length'] = String(st.size === 0 ? 0 : end - start + 1);
  const body = st.size === 0 ? null : (Readable.toWeb(fs.createReadStream(file, { start, end })) as ReadableStream);
  return new Response(body, { status, headers: h });
}

/** The answer to a `stems://<root>/<path>` request: the file through the guard, else 403 / 404. */
export async function stemsResponse(request: Request, guard: MediaGuard): Promise<Response> {
  try {
    const url = new URL(request.url);
    const rel = `${url.host}/${url.pathname
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s))
      .join('/')}`;
    const file = guard.resolveMedia(rel);
    return await fileResponse(file, request, { 'cache-control': 'no-cache' });
  } catch (e) {
    const forbidden = e instanceof StemdeckError && e.code === 'path-forbidden';
    return new Response(forbidden ? 'Forbidden' : 'Not found', { status: forbidden ? 403 : 404 });
  }
}
