/**
 * Uploads hashed while they stream in (host/content-hash.ts): files.open takes the upload's hash
 * instead of reading the file again, but only while the file is the one that was hashed — the
 * library's dedupe by content must stay right: an upload of a separated song opens that song, the
 * same upload changed in place afterwards (same size, other bytes) is separated as a new song.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { KnownHashes, StreamingHash } from '../../src-main/host/content-hash.js';
import { hashFile } from '../../src-main/library/library.js';
import { App } from '../../src-main/host/app.js';
import { startBrowserShell } from '../../src-main/shells/browser/server.js';
import { isolatedHome, makeSong, tempDir, waitJobEnd } from './helpers.js';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

test('StreamingHash over any chunking = hashFile of the bytes written', async () => {
  const bytes = crypto.randomBytes(300_001);
  const file = path.join(tempDir(), 'song.bin');
  fs.writeFileSync(file, bytes);
  for (const size of [1, 4096, 65536, bytes.length]) {
    const h = new StreamingHash();
    for (let at = 0; at < bytes.length; at += size) h.update(bytes.subarray(at, at + size));
    assert.deepEqual(h.digest(), await hashFile(file), `chunks of ${size}`);
  }
});

test('KnownHashes: a remembered hash holds only while the file is unchanged', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'song.flac');
  fs.writeFileSync(file, Buffer.alloc(1000, 1));
  const known = new KnownHashes();
  // a stand-in digest shows whether the file was read again (the real one would be its sha256)
  const marker = { hash: 'f'.repeat(64), bytes: 1000 };
  await known.remember(file, marker);
  assert.deepEqual(await known.hash(file), marker, 'unchanged: the remembered hash, no second read');

  fs.writeFileSync(file, Buffer.alloc(1000, 2)); // same size, other bytes
  assert.equal((await known.hash(file)).hash, sha256(Buffer.alloc(1000, 2)), 'rewritten in place: read again');

  await known.remember(file, marker);
  const t = new Date(Date.now() - 60_000);
  fs.utimesSync(file, t, t); // even a file whose times were set back (a copy tool keeping dates) is not trusted
  assert.equal((await known.hash(file)).hash, sha256(Buffer.alloc(1000, 2)), 'times changed: read again');

  await known.remember(file, marker);
  fs.writeFileSync(path.join(dir, 'other'), Buffer.alloc(1000, 3));
  fs.renameSync(path.join(dir, 'other'), file); // another file in its place
  assert.equal((await known.hash(file)).hash, sha256(Buffer.alloc(1000, 3)), 'replaced: read again');

  await known.remember(path.join(dir, 'gone'), marker); // no such file: nothing remembered
  fs.writeFileSync(path.join(dir, 'gone'), Buffer.alloc(1000, 4));
  assert.equal((await known.hash(path.join(dir, 'gone'))).hash, sha256(Buffer.alloc(1000, 4)));

  await known.remember(file, { hash: 'e'.repeat(64), bytes: 999 }); // not the size that was hashed
  assert.equal((await known.hash(file)).hash, sha256(Buffer.alloc(1000, 3)), 'a digest of other bytes is not remembered');
});

test('browser shell: an upload of a separated song opens it; the same upload changed in place is a new song', async () => {
  isolatedHome();
  const app = new App({ shell: 'browser' });
  await app.start();
  await app.settings.set({ model: 'identity-waveform' });
  const shell = await startBrowserShell({ app, rendererDir: null });
  try {
    const song = makeSong(path.join(tempDir(), 'song.wav'), 3, 'Hashed Upload');
    app.guard.choose(song);
    const first = await app.openFiles([song], undefined);
    const done = await waitJobEnd(app, first.jobs[0].id);
    assert.equal(done.status, 'done');

    const upload = (body: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const r = http.request(
          { host: '127.0.0.1', port: shell.port, method: 'POST', path: '/upload?name=song.wav', headers: { host: `127.0.0.1:${shell.port}`, 'x-stemdeck-token': shell.token } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve((JSON.parse(Buffer.concat(chunks).toString()) as { result: { path: string } }).result.path));
          },
        );
        r.on('error', reject);
        // in several writes: the hash must follow the stream, not one buffer
        for (let at = 0; at < body.length; at += 7000) r.write(body.subarray(at, at + 7000));
        r.end();
      });
    const bytes = fs.readFileSync(song);
    const same = await upload(bytes);
    const opened = await app.openFiles([same], undefined);
    assert.deepEqual(opened.existing.map((e) => e.songId), [done.songId], 'the same content opens the separated song');
    assert.equal(opened.jobs.length, 0);

    const changed = await upload(bytes);
    const other = Buffer.from(bytes);
    for (let i = other.length - 4000; i < other.length; i++) other[i] ^= 0x55; // other samples, same size
    fs.writeFileSync(changed, other);
    const reopened = await app.openFiles([changed], undefined);
    assert.equal(reopened.existing.length, 0, 'a file changed after its upload is not the separated song');
    assert.equal(reopened.jobs.length, 1, 'it is separated as a new song');
    const job = await waitJobEnd(app, reopened.jobs[0].id);
    assert.equal(job.status, 'done');
    assert.notEqual(job.songId, done.songId);
    assert.equal(app.library.get(job.songId!).source.hash, sha256(other), 'the new song records the hash of what it separated');
  } finally {
    await shell.close();
    await app.stop();
  }
});
