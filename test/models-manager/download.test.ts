import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { isStemdeckError } from '../../src-main/engine/errors.js';
import {
  ModelDownload,
  installCatalogueModel,
  partialPath,
  type DownloadProgress,
} from '../../src-main/engine/models/download.js';
import { ModelManifestSchema } from '../../src-main/engine/manifest.js';
import { listTree, randomData, startServer, tempDir, testEntry } from './helpers.js';

const DATA = randomData(3 * 1024 * 1024 + 12345);
let home: string;

before(async () => {
  home = await tempDir('dl');
  process.env.STEMDECK_HOME = home;
});
after(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

async function modelsDir(name: string): Promise<string> {
  const d = path.join(home, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

function errorCode(e: unknown): string {
  return isStemdeckError(e) ? e.code : `not a StemdeckError: ${String(e)}`;
}

describe('model download', () => {
  it('downloads, verifies and installs atomically, with progress, speed and ETA', async () => {
    const srv = await startServer(DATA, { bytesPerTick: 64 * 1024 });
    try {
      const dir = await modelsDir('full');
      const progress: DownloadProgress[] = [];
      const r = await installCatalogueModel(testEntry(srv.url, DATA), {
        acceptTerms: true,
        allowLoopbackHttp: true,
        modelsDir: dir,
        onProgress: (p) => progress.push(p),
      });
      assert.equal(r.dir, path.join(dir, 'test-model'));
      assert.deepEqual(await listTree(dir), ['test-model/manifest.json', 'test-model/test-model.onnx']);
      assert.deepEqual(await fs.readFile(path.join(r.dir, 'test-model.onnx')), DATA);
      const manifest = ModelManifestSchema.parse(JSON.parse(await fs.readFile(path.join(r.dir, 'manifest.json'), 'utf8')));
      assert.equal(manifest.io, 'htdemucs');
      assert.equal(manifest.files[0].bytes, DATA.length);
      const stages = new Set(progress.map((p) => p.stage));
      for (const s of ['checking', 'downloading', 'verifying', 'installing', 'done']) assert.ok(stages.has(s as never), s);
      const mid = progress.filter((p) => p.stage === 'downloading' && p.receivedBytes > 0 && p.receivedBytes < DATA.length);
      assert.ok(mid.length > 0, 'progress during the download');
      assert.ok(mid.some((p) => p.bytesPerSecond > 0 && p.etaSeconds !== null && p.etaSeconds > 0), 'speed and ETA reported');
      assert.equal(progress.at(-1)?.fraction, 1);
      assert.equal(srv.requests.length, 1);
    } finally {
      await srv.close();
    }
  });

  it('refuses to start before the terms are accepted', async () => {
    const srv = await startServer(DATA);
    try {
      const dir = await modelsDir('terms');
      await assert.rejects(
        installCatalogueModel(testEntry(srv.url, DATA), { acceptTerms: false, allowLoopbackHttp: true, modelsDir: dir }),
        (e) => errorCode(e) === 'invalid-request' && /Test terms/.test((e as Error).message),
      );
      assert.equal(srv.requests.length, 0);
    } finally {
      await srv.close();
    }
  });

  it('refuses plain http (https only) unless loopback is explicitly allowed', async () => {
    const dir = await modelsDir('https');
    await assert.rejects(
      installCatalogueModel(testEntry('http://example.com/model.onnx', DATA), { acceptTerms: true, modelsDir: dir }),
      (e) => errorCode(e) === 'network' && /HTTPS/.test((e as Error).message),
    );
    await assert.rejects(
      installCatalogueModel(testEntry('http://127.0.0.1:9/model.onnx', DATA), { acceptTerms: true, modelsDir: dir }),
      (e) => errorCode(e) === 'network' && /HTTPS/.test((e as Error).message),
    );
    assert.deepEqual(await listTree(path.join(dir, 'test-model')), []);
  });

  it('resumes with an HTTP Range request after the connection is cut', async () => {
    const cutAt = 1024 * 1024 + 7;
    const srv = await startServer(DATA, { cutAfter: cutAt });
    try {
      const dir = await modelsDir('resume');
      const r = await installCatalogueModel(testEntry(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir });
      assert.equal(r.resumed, true);
      assert.ok(srv.requests.length >= 2, `requests: ${JSON.stringify(srv.requests)}`);
      assert.equal(srv.requests[0].range, undefined);
      const m = /^bytes=(\d+)-$/.exec(srv.requests[1].range ?? '');
      assert.ok(m, `second request is a Range request: ${JSON.stringify(srv.requests)}`);
      assert.ok(Number(m[1]) > 0 && Number(m[1]) <= cutAt);
      assert.deepEqual(await fs.readFile(path.join(r.dir, 'test-model.onnx')), DATA);
    } finally {
      await srv.close();
    }
  });

  it('pauses (keeps the partial file) and resumes where it stopped', async () => {
    const srv = await startServer(DATA, { bytesPerTick: 64 * 1024 });
    try {
      const dir = await modelsDir('pause');
      const entry = testEntry(srv.url, DATA);
      const dl = new ModelDownload(entry, { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir });
      const part = partialPath(dir, entry);
      const t0 = Date.now();
      while (!(await fs.stat(part).then((st) => st.size > 0, () => false))) {
        assert.ok(Date.now() - t0 < 20000, 'no bytes arrived');
        await new Promise((r) => setTimeout(r, 10));
      }
      dl.pause();
      assert.equal(dl.state, 'paused');
      await new Promise((r) => setTimeout(r, 100));
      const have = (await fs.stat(part)).size;
      assert.ok(have > 0 && have < DATA.length, `partial ${have}`);
      assert.deepEqual(await listTree(path.join(dir, 'test-model')), [], 'nothing installed while paused');
      dl.resume();
      const r = await dl.done;
      assert.equal(r.resumed, true);
      // resumed from what was on disk (at least the bytes seen while paused)
      const resumedAt = srv.requests.map((q) => /^bytes=(\d+)-$/.exec(q.range ?? '')?.[1]).filter(Boolean).map(Number);
      assert.ok(resumedAt.length === 1 && resumedAt[0] >= have, JSON.stringify(srv.requests));
      assert.deepEqual(await fs.readFile(path.join(r.dir, 'test-model.onnx')), DATA);
      assert.deepEqual(await listTree(path.join(dir, '.downloads')), []);
    } finally {
      await srv.close();
    }
  });

  it('refuses a checksum mismatch and installs nothing', async () => {
    const wrong = Buffer.from(DATA);
    wrong[12345] ^= 0xff;
    const srv = await startServer(DATA, { body: wrong });
    try {
      const dir = await modelsDir('checksum');
      await assert.rejects(
        installCatalogueModel(testEntry(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir }),
        (e) => errorCode(e) === 'checksum' && /sha256/.test((e as Error).message),
      );
      assert.deepEqual(await listTree(dir), [], 'no model, no partial file');
    } finally {
      await srv.close();
    }
  });

  it('refuses a file of the wrong size before writing it', async () => {
    const srv = await startServer(DATA, { body: DATA.subarray(0, 1000) });
    try {
      const dir = await modelsDir('size');
      await assert.rejects(
        installCatalogueModel(testEntry(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir }),
        (e) => errorCode(e) === 'checksum',
      );
      assert.deepEqual(await listTree(path.join(dir, 'test-model')), []);
    } finally {
      await srv.close();
    }
  });

  it('reports a server error clearly and installs nothing', async () => {
    const srv = await startServer(DATA, { status: 503 });
    try {
      const dir = await modelsDir('server-error');
      await assert.rejects(
        installCatalogueModel(testEntry(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir }),
        (e) => errorCode(e) === 'network' && /HTTP 503/.test((e as Error).message) && /try again later/.test((e as Error).message),
      );
      assert.deepEqual(await listTree(path.join(dir, 'test-model')), []);
    } finally {
      await srv.close();
    }
  });

  it('says what to do when offline (connection refused)', async () => {
    const srv = await startServer(DATA);
    const url = srv.url;
    await srv.close(); // nothing listens on that port any more
    const dir = await modelsDir('offline');
    await assert.rejects(
      installCatalogueModel(testEntry(url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir, retries: 0 }),
      (e) =>
        errorCode(e) === 'network' &&
        /offline/.test((e as Error).message) &&
        /internet connection/.test((e as Error).message) &&
        // the app's button is Retry (issue 14 polish), not "run the install again"
        /press Retry/.test((e as Error).message) &&
        !/run the install again/.test((e as Error).message),
    );
  });

  it('checks free space first (simulated full disk) and downloads nothing', async () => {
    const srv = await startServer(DATA);
    try {
      const dir = await modelsDir('disk-full');
      await assert.rejects(
        installCatalogueModel(testEntry(srv.url, DATA), {
          acceptTerms: true,
          allowLoopbackHttp: true,
          modelsDir: dir,
          freeSpace: async () => 1_000_000,
        }),
        (e) => errorCode(e) === 'disk-full' && /Not enough free space/.test((e as Error).message),
      );
      assert.equal(srv.requests.length, 0);
      assert.deepEqual(await listTree(dir), []);
    } finally {
      await srv.close();
    }
  });

  it('a real full disk (a 1 MiB tmpfs, when this user may mount one) fails with disk-full and installs nothing', async (t) => {
    const dir = await modelsDir('tmpfs');
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' });
    if (mount.status !== 0) {
      t.skip('cannot mount a tmpfs here (not root)');
      return;
    }
    const srv = await startServer(DATA);
    try {
      await assert.rejects(
        // The free-space check alone would refuse up front; report plenty so the write itself hits ENOSPC.
        installCatalogueModel(testEntry(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir, freeSpace: async () => 1e12, retries: 0 }),
        (e) => errorCode(e) === 'disk-full' && /disk is full/.test((e as Error).message),
      );
      assert.deepEqual(await listTree(path.join(dir, 'test-model')), [], 'nothing installed');
    } finally {
      await srv.close();
      spawnSync('umount', [dir]);
    }
  });

  it('cancel stops the download and deletes the partial file', async () => {
    const srv = await startServer(DATA, { bytesPerTick: 64 * 1024 });
    try {
      const dir = await modelsDir('cancel');
      const ac = new AbortController();
      const p = installCatalogueModel(testEntry(srv.url, DATA), { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir, signal: ac.signal });
      setTimeout(() => ac.abort(), 150);
      await assert.rejects(p, (e) => errorCode(e) === 'cancelled');
      assert.deepEqual(await listTree(dir), []);
    } finally {
      await srv.close();
    }
  });

  it('one download per model across processes: a live lock refuses, a stale one is taken over', async () => {
    const srv = await startServer(DATA);
    try {
      const dir = await modelsDir('lock');
      const lock = path.join(dir, '.downloads', 'test-model.lock');
      await fs.mkdir(path.dirname(lock), { recursive: true });
      await fs.writeFile(lock, String(process.pid)); // "another download" alive: this process
      const opts = { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir };
      await assert.rejects(installCatalogueModel(testEntry(srv.url, DATA), opts), (e) => errorCode(e) === 'invalid-request' && /already being downloaded/.test((e as Error).message));
      assert.equal(srv.requests.length, 0);
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      await fs.writeFile(lock, dead.stdout); // its process has exited: stale
      await installCatalogueModel(testEntry(srv.url, DATA), opts);
      assert.deepEqual(await listTree(dir), ['test-model/manifest.json', 'test-model/test-model.onnx'], 'installed, lock released');
    } finally {
      await srv.close();
    }
  });

  it('refuses to overwrite an installed model unless asked to replace it', async () => {
    const srv = await startServer(DATA);
    try {
      const dir = await modelsDir('replace');
      const opts = { acceptTerms: true, allowLoopbackHttp: true, modelsDir: dir };
      await installCatalogueModel(testEntry(srv.url, DATA), opts);
      await assert.rejects(installCatalogueModel(testEntry(srv.url, DATA), opts), (e) => errorCode(e) === 'invalid-request');
      const r = await installCatalogueModel(testEntry(srv.url, DATA), { ...opts, replace: true });
      assert.deepEqual(await listTree(dir), ['test-model/manifest.json', 'test-model/test-model.onnx']);
      assert.equal(r.bytes, DATA.length);
    } finally {
      await srv.close();
    }
  });
});
