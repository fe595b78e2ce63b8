/** Loopback HTTP server, fixtures and a CLI runner for the model-manager tests (no other network use). */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CatalogueEntry } from '../../src-main/engine/models/catalogue.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI (bin/stemdeck.js) in a child process with STEMDECK_HOME = `home`; `env` is added on
 * top of this process's environment and the variables in `unset` are removed. */
export function runStemdeck(args: string[], home: string, opts: { env?: Record<string, string>; unset?: string[] } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, STEMDECK_HOME: home, ...opts.env };
    for (const k of opts.unset ?? []) delete env[k];
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'stemdeck.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerOptions {
  /** Cut the connection after this many body bytes of the first full (non-Range) response. */
  cutAfter?: number;
  /** Answer every request with this status. */
  status?: number;
  /** Serve this body instead of the real one (same length → checksum mismatch). */
  body?: Buffer;
  /** Throttle: bytes per 10 ms tick (default: as fast as possible). */
  bytesPerTick?: number;
  /** Ignore Range headers (always 200 with the whole body). */
  ignoreRange?: boolean;
}

export interface TestServer {
  url: string;
  requests: Array<{ range?: string }>;
  close(): Promise<void>;
}

export async function startServer(data: Buffer, opts: ServerOptions = {}): Promise<TestServer> {
  const requests: Array<{ range?: string }> = [];
  let cutDone = false;
  const server = http.createServer((req, res) => {
    requests.push({ range: req.headers.range });
    if (opts.status) {
      res.writeHead(opts.status, { 'content-type': 'text/plain' });
      res.end('error');
      return;
    }
    const body = opts.body ?? data;
    let start = 0;
    const m = !opts.ignoreRange && /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, {
        'content-length': String(body.length - start),
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'accept-ranges': 'bytes',
      });
    } else {
      res.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes' });
    }
    const slice = body.subarray(start);
    const cut = !m && opts.cutAfter !== undefined && !cutDone ? opts.cutAfter : undefined;
    if (cut !== undefined) cutDone = true;
    const tick = opts.bytesPerTick ?? (cut !== undefined ? 64 * 1024 : 0);
    if (!tick) {
      res.end(slice);
      return;
    }
    let pos = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      const end = Math.min(slice.length, pos + tick);
      if (cut !== undefined && end >= cut) {
        res.write(slice.subarray(pos, cut), () => res.socket?.destroy());
        clearInterval(timer);
        return;
      }
      res.write(slice.subarray(pos, end));
      pos = end;
      if (pos >= slice.length) {
        clearInterval(timer);
        res.end();
      }
    }, 10);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/files/test-model.onnx`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export function randomData(bytes: number): Buffer {
  return randomBytes(bytes);
}

export function testEntry(url: string, data: Buffer, over: Partial<CatalogueEntry> = {}): CatalogueEntry {
  return {
    id: 'test-model',
    name: 'Test model',
    description: 'Loopback test model',
    architecture: 'htdemucs',
    stems: ['drums', 'bass', 'other', 'vocals'],
    // The catalogue schema demands https; tests build entries directly with loopback http
    // and pass allowLoopbackHttp, exactly what the option exists for.
    url,
    file: 'test-model.onnx',
    sha256: sha256(data),
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
    ...over,
  };
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `stemdeck-${prefix}-`));
}

/** Lists a folder recursively (relative paths), for "nothing was installed" checks. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string): Promise<void> {
    let names: string[];
    try {
      names = await fs.readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const full = path.join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      if ((await fs.stat(full)).isDirectory()) await walk(full, r);
      else out.push(r);
    }
  }
  await walk(dir, '');
  return out.sort();
}
