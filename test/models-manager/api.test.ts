/**
 * The model manager through the app API: handlers (src-main/host/model-handlers.ts) behind
 * A1's schema-validating dispatcher (src-main/api/contract.ts), against a loopback server and a
 * test catalogue (STEMDECK_CATALOGUE).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDispatcher, type InstallProgress } from '../../src-main/api/contract.js';
import { StemdeckError } from '../../src-main/engine/errors.js';
import { modelManagerHandlers } from '../../src-main/host/model-handlers.js';
import { startServer, sha256, tempDir, type TestServer } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const FIX = path.join(here, 'fixtures');
const ctx = { shell: 'browser' as const };

let home: string;
let fast: TestServer;
let slow: TestServer;
const events: InstallProgress[] = [];
let changed = 0;
let dispatch: ReturnType<typeof createDispatcher>['dispatch'];

async function call(method: string, params: unknown): Promise<unknown> {
  const r = await dispatch(method, params, ctx);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result;
}

async function until(pred: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function untilAsync(pred: () => Promise<boolean>, what: string, timeoutMs = 20000): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function partialBytes(id: string): Promise<number> {
  const list = (await call('catalogue.list', {})) as Array<Record<string, unknown>>;
  return Number(list.find((m) => m.id === id)?.partialBytes);
}

function lockReleased(id: string): () => Promise<boolean> {
  return () => fs.access(path.join(home, 'models', '.downloads', `${id}.lock`)).then(() => false, () => true);
}

function waitFor(id: string, state: InstallProgress['state'], timeoutMs = 20000): Promise<InstallProgress> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      const e = events.find((x) => x.id === id && x.state === state);
      if (e) return resolve(e);
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`no ${state} event for ${id}: ${JSON.stringify(events.filter((x) => x.id === id).map((x) => x.state))}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

before(async () => {
  home = await tempDir('api');
  process.env.STEMDECK_HOME = home;
  // The installable entry serves the HTDemucs-contract fixture (the MDX fixture is imported below;
  // a file whose sha256 is in the catalogue would be installed as that catalogue entry).
  const data = await fs.readFile(path.join(FIX, 'contract-htdemucs.onnx'));
  // Pad the payload so a throttled download lasts long enough to pause it: an ONNX file with
  // trailing bytes is not loadable, so the slow server serves an arbitrary blob (probe skipped
  // by its catalogue io: the slow entry has no real model; it is cancelled or paused only).
  const blob = Buffer.alloc(2 * 1024 * 1024, 3);
  fast = await startServer(data);
  slow = await startServer(blob, { bytesPerTick: 32 * 1024 });
  const base = JSON.parse(await fs.readFile(path.join(repoRoot, 'resources', 'catalogue.json'), 'utf8')) as { models: unknown[] };
  const contract = {
    io: 'mdx-net',
    sampleRate: 44100,
    channels: 2,
    stems: ['vocals', 'instrumental'],
    segment: { samples: 261120, overlap: 0.0706 },
    tensors: { input: 'input', output: 'output' },
    mdx: { nFft: 6144, dimF: 2048, dimT: 256, compensate: 1, primary: 'vocals', secondary: 'instrumental' },
  };
  const htContract = {
    io: 'htdemucs',
    sampleRate: 44100,
    channels: 2,
    stems: ['drums', 'bass', 'other', 'vocals'],
    segment: { samples: 343980, overlap: 0.25 },
    tensors: { input: 'input', output: 'output' },
    normalize: 'mixture-std',
  };
  const entry = (id: string, url: string, b: Buffer, c: Record<string, unknown>): Record<string, unknown> => ({
    id,
    name: id,
    description: 'test',
    architecture: String(c.io),
    stems: c.stems,
    url,
    file: `${id}.onnx`,
    sha256: sha256(b),
    bytes: b.length,
    license: 'test licence',
    terms: 'Test terms.',
    contract: c,
    provenance: {},
  });
  const catalogue = path.join(home, 'catalogue.json');
  await fs.writeFile(catalogue, JSON.stringify({ ...base, models: [entry('api-mdx', fast.url, data, htContract), entry('api-slow', slow.url, blob, contract)] }));
  process.env.STEMDECK_CATALOGUE = catalogue;
  const handlers = modelManagerHandlers({
    send: (_e, p) => events.push(p),
    checkInput: (p) => {
      if (!p.startsWith(FIX) && !p.startsWith(home)) throw new StemdeckError('path-forbidden', 'Stemdeck may not access this path.');
      return p;
    },
    modelsChanged: () => void changed++,
    modelsDir: path.join(home, 'models'),
    allowLoopbackHttp: true,
  });
  dispatch = createDispatcher(handlers).dispatch;
});

after(async () => {
  delete process.env.STEMDECK_CATALOGUE;
  await fast.close();
  await slow.close();
  await fs.rm(home, { recursive: true, force: true });
});

describe('model manager API', () => {
  it('catalogue.list: url, sha256, bytes, licence, terms, installed', async () => {
    const list = (await call('catalogue.list', {})) as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((m) => m.id), ['api-mdx', 'api-slow']);
    assert.equal(list[0].installed, false);
    assert.equal(list[0].terms, 'Test terms.');
  });

  it('models.install needs acceptTerms: true (schema), then downloads, verifies and installs with progress events', async () => {
    await assert.rejects(call('models.install', { id: 'api-mdx' }), (e) => (e as { code: string }).code === 'invalid-request');
    await assert.rejects(call('models.install', { id: 'api-mdx', acceptTerms: false }), (e) => (e as { code: string }).code === 'invalid-request');
    const first = (await call('models.install', { id: 'api-mdx', acceptTerms: true })) as InstallProgress;
    assert.equal(first.state, 'queued');
    const done = await waitFor('api-mdx', 'installed');
    assert.equal(done.receivedBytes, done.totalBytes);
    assert.ok(changed >= 1);
    const list = (await call('catalogue.list', {})) as Array<Record<string, unknown>>;
    assert.equal(list.find((m) => m.id === 'api-mdx')?.installed, true);
    const installs = (await call('models.installs', {})) as InstallProgress[];
    assert.equal(installs.find((i) => i.id === 'api-mdx')?.state, 'installed');
  });

  it('models.pause keeps the partial download, models.resume continues it, models.cancelInstall drops it', async () => {
    await call('models.install', { id: 'api-slow', acceptTerms: true });
    await until(() => events.some((e) => e.id === 'api-slow' && e.state === 'downloading' && e.receivedBytes > 0), 'bytes received');
    const paused = (await call('models.pause', { id: 'api-slow' })) as InstallProgress;
    assert.equal(paused.state, 'paused');
    await untilAsync(async () => Number(await partialBytes('api-slow')) > 0, 'partial bytes kept');
    const resumed = (await call('models.resume', { id: 'api-slow' })) as InstallProgress;
    assert.equal(resumed.state, 'downloading');
    await until(() => slow.requests.some((q) => q.range !== undefined), 'resumed with a Range request');
    const cancelled = (await call('models.cancelInstall', { id: 'api-slow' })) as InstallProgress;
    assert.equal(cancelled.state, 'cancelled');
    await untilAsync(async () => (await partialBytes('api-slow')) === 0, 'partial download deleted');
    const after = (await call('catalogue.list', {})) as Array<Record<string, unknown>>;
    assert.equal(after.find((m) => m.id === 'api-slow')?.installed, false);
    await untilAsync(lockReleased('api-slow'), 'download lock released');
  });

  it('models.remove during a download cancels it cleanly; a new install starts afresh', async () => {
    const mark = events.length;
    await call('models.install', { id: 'api-slow', acceptTerms: true });
    await until(() => events.slice(mark).some((e) => e.id === 'api-slow' && e.receivedBytes > 0), 'bytes received');
    assert.deepEqual(await call('models.remove', { id: 'api-slow' }), { ok: true });
    await untilAsync(lockReleased('api-slow'), 'download lock released'); // the cancelled run has ended
    await new Promise((r) => setTimeout(r, 100)); // its late callbacks must not throw
    const installs = (await call('models.installs', {})) as InstallProgress[];
    assert.equal(installs.find((i) => i.id === 'api-slow'), undefined);
    const again = (await call('models.install', { id: 'api-slow', acceptTerms: true })) as InstallProgress;
    assert.equal(again.state, 'queued');
    assert.equal((await call('models.cancelInstall', { id: 'api-slow' }) as InstallProgress).state, 'cancelled');
  });

  it('models.import: refuses paths the user did not choose, asks for missing parameters, imports with them', async () => {
    await assert.rejects(call('models.import', { path: '/etc/passwd' }), (e) => (e as { code: string }).code === 'path-forbidden');
    const mdx = path.join(FIX, 'contract-mdx.onnx');
    const needs = (await call('models.import', { path: mdx })) as { ok: boolean; needs: string[]; reason: string };
    assert.equal(needs.ok, false);
    assert.deepEqual(needs.needs, ['nFft', 'compensate', 'primary']);
    const ok = (await call('models.import', { path: mdx, params: { id: 'api-imported', nFft: 7680, compensate: 1.021, primary: 'vocals' } })) as {
      ok: boolean;
      model: { id: string; io: string; stems: string[] };
    };
    assert.equal(ok.ok, true);
    assert.equal(ok.model.io, 'mdx-net');
    assert.deepEqual(ok.model.stems, ['vocals', 'instrumental']);
    await assert.rejects(call('models.import', { path: path.join(FIX, 'contract-bad.onnx') }), (e) => (e as { code: string }).code === 'model-contract');
  });

  it('models.remove removes downloaded and imported models', async () => {
    assert.deepEqual(await call('models.remove', { id: 'api-imported' }), { ok: true });
    assert.deepEqual(await call('models.remove', { id: 'api-mdx' }), { ok: true });
    await assert.rejects(call('models.remove', { id: 'api-mdx' }), (e) => (e as { code: string }).code === 'model-unknown');
  });
});
