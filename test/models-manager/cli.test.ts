/**
 * `stemdeck models list|install|import|remove` through the real bin. The install test serves a
 * catalogue model over HTTPS from 127.0.0.1 with a self-signed certificate made here (trusted by
 * the child through NODE_EXTRA_CA_CERTS) and a test catalogue (STEMDECK_CATALOGUE): the exact
 * production path, no network beyond loopback.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CliRun, runStemdeck, sha256, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const FIX = path.join(here, 'fixtures');
let home: string;

before(async () => {
  home = await tempDir('cli');
});
after(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runStemdeck(args, home, { env });
}

const lastJson = (s: string): Record<string, unknown> => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '{}') as Record<string, unknown>;

async function makeCert(dir: string): Promise<{ key: string; cert: string } | null> {
  await fs.mkdir(dir, { recursive: true });
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const ssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  return ssl.status === 0 ? { key, cert } : null;
}

describe('stemdeck models (model manager CLI)', () => {
  it('models list --json includes the catalogue with url, sha256, bytes, licence and installed flag', async () => {
    const r = await cli(['models', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as Record<string, unknown>[];
    const cat = list.filter((m) => m.origin === 'catalogue');
    assert.ok(list.some((m) => m.origin === 'bundled'), 'installed (bundled) models are listed too');
    assert.ok(cat.length >= 5);
    for (const m of cat) {
      assert.match(String(m.url), /^https:\/\//);
      assert.match(String(m.sha256), /^[0-9a-f]{64}$/);
      assert.ok(Number(m.bytes) > 0);
      assert.ok(String(m.license).length > 0);
      assert.equal(m.installed, false);
    }
    const ht = cat.find((m) => m.id === 'htdemucs-v4-mixxx');
    assert.equal(ht?.bytes, 304413278);
    const human = await cli(['models', 'list']);
    assert.match(human.stdout, /Available to download/);
    assert.match(human.stdout, /uvr-mdx-net-voc-ft/);
  });

  it('models import / remove; an incompatible file is refused with the reason', async () => {
    const r = await cli(['models', 'import', path.join(FIX, 'contract-mdx.onnx'), '--id', 'cli-mdx', '--n-fft', '7680', '--compensate', '1.021', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson(r.stdout);
    assert.equal(j.io, 'mdx-net');
    assert.deepEqual(j.stems, ['vocals', 'instrumental']);
    const list = JSON.parse((await cli(['models', 'list', '--json'])).stdout) as Record<string, unknown>[];
    assert.equal(list.find((m) => m.id === 'cli-mdx')?.origin, 'user');
    const bad = await cli(['models', 'import', path.join(FIX, 'contract-bad.onnx')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^stemdeck: contract-bad\.onnx cannot be used: .*match no contract/m);
    const rm = await cli(['models', 'remove', 'cli-mdx']);
    assert.equal(rm.code, 0, rm.stderr);
    const again = await cli(['models', 'remove', 'cli-mdx']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /No downloaded or imported model "cli-mdx"/);
  });

  it('models install: terms required, then HTTPS download, verify, install; then separate with it', async (t) => {
    const dir = path.join(home, 'tls');
    await fs.mkdir(dir, { recursive: true });
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    const ssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (ssl.status !== 0) {
      t.skip(`openssl unavailable: ${ssl.stderr}`);
      return;
    }
    const data = await fs.readFile(path.join(FIX, 'contract-mdx.onnx'));
    const server = https.createServer({ key: await fs.readFile(key), cert: await fs.readFile(cert) }, (req, res) => {
      res.writeHead(200, { 'content-length': String(data.length) });
      res.end(data);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const base = JSON.parse(await fs.readFile(path.join(repoRoot, 'resources', 'catalogue.json'), 'utf8')) as { models: unknown[] };
      const entry = {
        id: 'loopback-mdx',
        name: 'Loopback MDX',
        description: 'test',
        architecture: 'mdx-net',
        stems: ['vocals', 'instrumental'],
        url: `https://127.0.0.1:${port}/loopback-mdx.onnx`,
        file: 'loopback-mdx.onnx',
        sha256: sha256(data),
        bytes: data.length,
        license: 'test licence',
        terms: 'Loopback terms.',
        contract: {
          io: 'mdx-net',
          sampleRate: 44100,
          channels: 2,
          stems: ['vocals', 'instrumental'],
          segment: { samples: 261120, overlap: 0.0706 },
          tensors: { input: 'wrong-name', output: 'wrong-name' },
          mdx: { nFft: 6144, dimF: 2048, dimT: 256, compensate: 1, primary: 'vocals', secondary: 'instrumental' },
        },
        provenance: {},
      };
      const catalogue = path.join(dir, 'catalogue.json');
      await fs.writeFile(catalogue, JSON.stringify({ ...base, models: [entry] }));
      const env = { STEMDECK_CATALOGUE: catalogue, NODE_EXTRA_CA_CERTS: cert };

      const noTerms = await cli(['models', 'install', 'loopback-mdx'], env);
      assert.equal(noTerms.code, 1);
      assert.match(noTerms.stderr, /Loopback terms\..*--accept-terms/);

      const r = await cli(['models', 'install', 'loopback-mdx', '--accept-terms', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const j = lastJson(r.stdout);
      assert.equal(j.id, 'loopback-mdx');
      const manifest = JSON.parse(await fs.readFile(path.join(String(j.dir), 'manifest.json'), 'utf8')) as { tensors: unknown };
      assert.deepEqual(manifest.tensors, { input: 'input', output: 'output' }, 'tensor names read from the downloaded file');
      const list = JSON.parse((await cli(['models', 'list', '--json'], env)).stdout) as Record<string, unknown>[];
      assert.equal(list.find((m) => m.origin === 'catalogue' && m.id === 'loopback-mdx')?.installed, true);
      assert.equal(list.find((m) => m.origin === 'user' && m.id === 'loopback-mdx')?.io, 'mdx-net');

      const wav = path.join(dir, 'in.wav');
      const ff = spawnSync(path.join(repoRoot, 'node_modules', '@ffmpeg-installer', 'linux-x64', 'ffmpeg'), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-ac', '2', '-ar', '44100', wav]);
      if (ff.status === 0) {
        const sep = await cli(['separate', wav, '--model', 'loopback-mdx', '--out', path.join(dir, 'out'), '--json'], env);
        assert.equal(sep.code, 0, sep.stderr);
        assert.deepEqual(Object.keys(lastJson(sep.stdout).outputs as object).sort(), ['instrumental', 'vocals']);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('models install: Ctrl-C pauses (exit 130, partial kept); running it again resumes with a Range request', async (t) => {
    const dir = path.join(home, 'tls-pause');
    const tls = await makeCert(dir);
    if (!tls) {
      t.skip('openssl unavailable');
      return;
    }
    const data = Buffer.alloc(4 * 1024 * 1024, 9);
    const ranges: Array<string | undefined> = [];
    const server = https.createServer({ key: await fs.readFile(tls.key), cert: await fs.readFile(tls.cert) }, (req, res) => {
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, { 'content-length': String(data.length - start) });
      if (m) return res.end(data.subarray(start)); // the resumed request is served at once
      let pos = start;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        const end = Math.min(data.length, pos + 16 * 1024);
        res.write(data.subarray(pos, end));
        pos = end;
        if (pos >= data.length) {
          clearInterval(timer);
          res.end();
        }
      }, 10);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const base = JSON.parse(await fs.readFile(path.join(repoRoot, 'resources', 'catalogue.json'), 'utf8')) as { models: Array<Record<string, unknown>> };
      const ht = base.models.find((m) => m.id === 'htdemucs-v4-mixxx')!;
      const entry = { ...ht, id: 'loopback-blob', url: `https://127.0.0.1:${port}/blob.onnx`, file: 'blob.onnx', sha256: sha256(data), bytes: data.length };
      const catalogue = path.join(dir, 'catalogue.json');
      await fs.writeFile(catalogue, JSON.stringify({ ...base, models: [entry] }));
      const env = { ...process.env, STEMDECK_HOME: home, STEMDECK_CATALOGUE: catalogue, NODE_EXTRA_CA_CERTS: tls.cert };
      const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'stemdeck.js'), 'models', 'install', 'loopback-blob', '--accept-terms'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const part = path.join(home, 'models', '.downloads', 'loopback-blob', 'blob.onnx.part');
      const t0 = Date.now();
      while (!(await fs.stat(part).then((st) => st.size > 256 * 1024, () => false))) {
        if (Date.now() - t0 > 30000) throw new Error(`no partial download: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(code, 130, stderr);
      assert.match(stderr, /paused at \d+ of \d+ bytes; install again to resume/);
      const have = (await fs.stat(part)).size;
      assert.ok(have > 0 && have < data.length);
      // The payload is not an ONNX file: the resumed run downloads and verifies it, then the
      // contract probe refuses it — after the Range request, which is what is checked here.
      const again = await cli(['models', 'install', 'loopback-blob', '--accept-terms'], { STEMDECK_CATALOGUE: catalogue, NODE_EXTRA_CA_CERTS: tls.cert });
      assert.match(String(ranges.at(-1)), new RegExp(`^bytes=${have}-$`), JSON.stringify(ranges));
      assert.match(again.stderr, /not a readable ONNX model/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
