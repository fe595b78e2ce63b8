/**
 * Library storage (issue 14.11) with the real app, engine and files: disk use per song and in
 * total, a smaller stem format for new separations (Settings → libraryFormat), and deleting a
 * song's stems while its entry stays (then separating it again).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { readWavInfo } from '../../src-main/engine/output/wav.js';
import { folderBytes } from '../../src-main/library/library.js';
import { isolatedHome, tempDir, makeSong, waitJobEnd } from './helpers.js';

let dir = '';
const ctx = { shell: 'browser' as const };
before(() => {
  isolatedHome();
  dir = tempDir('stemdeck-storage-');
});

async function separate(app: App, src: string): Promise<string> {
  app.guard.choose(src);
  const r = await app.openFiles([src], undefined);
  assert.equal(r.jobs.length, 1, JSON.stringify(r));
  const job = await waitJobEnd(app, r.jobs[0].id);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  return job.songId!;
}

test('library format, disk use per song and in total, delete stems and separate again', async () => {
  const app = new App({ shell: 'browser' });
  await app.start();
  const h = app.handlers();
  try {
    await h['settings.set']!({ model: 'identity-waveform' }, ctx);
    assert.equal((await h['settings.get']!({}, ctx)).libraryFormat, 'wav32f', 'the default keeps the stems as separated');

    const a = await separate(app, makeSong(path.join(dir, 'a.wav'), 4, 'Float Song', 220));
    await h['settings.set']!({ libraryFormat: 'wav16' }, ctx);
    const b = await separate(app, makeSong(path.join(dir, 'b.wav'), 4, 'Small Song', 330));

    // the chosen format reaches the stem files; older songs keep theirs
    const stemInfo = async (id: string) => readWavInfo(path.join(app.library.songDir(id), app.library.get(id).stems[0].file));
    assert.deepEqual([(await stemInfo(a)).bitsPerSample, (await stemInfo(a)).float], [32, true]);
    assert.deepEqual([(await stemInfo(b)).bitsPerSample, (await stemInfo(b)).float], [16, false]);

    // disk use: each summary measures its folder; usage is their sum
    const list = await h['library.list']!({}, ctx);
    const bytes = (id: string) => list.find((s) => s.id === id)!.diskBytes!;
    assert.equal(bytes(a), await folderBytes(app.library.songDir(a)));
    assert.equal(bytes(b), await folderBytes(app.library.songDir(b)));
    assert.ok(bytes(b) < bytes(a) * 0.6, `16-bit stems take about half: ${bytes(b)} vs ${bytes(a)}`);
    assert.deepEqual(await h['library.usage']!({}, ctx), { totalBytes: bytes(a) + bytes(b), songs: 2 });

    // delete the stems, keep the entry (title, waveform, mixer)
    await h['library.deleteStems']!({ id: a }, ctx);
    assert.equal(fs.existsSync(path.join(app.library.songDir(a), 'stems')), false);
    const kept = await h['library.get']!({ id: a }, ctx);
    assert.ok(kept.stemsDeletedAt, 'the song says its stems were deleted');
    assert.equal(kept.title, 'Float Song');
    assert.ok(fs.existsSync(path.join(app.library.songDir(a), 'peaks.bin')), 'the waveform stays');
    const after = (await h['library.list']!({}, ctx)).find((s) => s.id === a)!;
    assert.ok(after.stemsDeletedAt);
    assert.ok(after.diskBytes! < 100_000, `only song.json and peaks left: ${after.diskBytes}`);
    assert.equal((await h['library.usage']!({}, ctx)).totalBytes, after.diskBytes! + bytes(b));

    // export says what happened and what to do, instead of a missing-file error
    await assert.rejects(
      async () => h['export.run']!({ songId: a, stems: ['vocals'], mixdown: false, preset: null, format: 'wav24' }, ctx),
      (e: Error & { code?: string }) => e.code === 'input-missing' && /deleted to free disk space.*Separate it again/.test(e.message),
    );

    // a restart keeps it that way
    await app.stop();
    const app2 = new App({ shell: 'browser' });
    await app2.start();
    try {
      assert.ok(app2.library.get(a).stemsDeletedAt);
      assert.equal((await app2.handlers()['library.usage']!({}, ctx)).songs, 2);
      // Separate again: from the file it was separated from (no new choice of it after the
      // restart), a new job (not "already in the library") into the same entry
      const queued = await app2.handlers()['library.separateAgain']!({ id: a }, ctx);
      const done = await waitJobEnd(app2, queued.id);
      assert.equal(done.status, 'done', JSON.stringify(done.error));
      assert.equal(done.songId, a, 'the same song entry');
      await assert.rejects(
        async () => app2.handlers()['library.separateAgain']!({ id: a }, ctx),
        (e: Error & { code?: string }) => e.code === 'invalid-request',
        'a song with its stems has nothing to separate again',
      );
      const restored = app2.library.get(a);
      assert.equal(restored.stemsDeletedAt, undefined);
      assert.ok(fs.existsSync(path.join(app2.library.songDir(a), restored.stems[0].file)));
      assert.equal((await stemInfo2(app2, a)).bitsPerSample, 16, 'separated again in the current library format');

      // a source that changed since (or is gone) is named with what to do
      await app2.handlers()['library.deleteStems']!({ id: b }, ctx);
      fs.appendFileSync(path.join(dir, 'b.wav'), Buffer.alloc(16));
      await assert.rejects(
        async () => app2.handlers()['library.separateAgain']!({ id: b }, ctx),
        (e: Error & { code?: string }) => e.code === 'input-missing' && /b\.wav has changed since.*Open the file again/.test(e.message),
      );
      fs.rmSync(path.join(dir, 'b.wav'));
      await assert.rejects(
        async () => app2.handlers()['library.separateAgain']!({ id: b }, ctx),
        (e: Error & { code?: string }) => e.code === 'input-missing' && /b\.wav is not where it was separated from/.test(e.message),
      );
    } finally {
      await app2.stop();
    }
  } finally {
    await app.stop().catch(() => undefined);
  }
});

async function stemInfo2(app: App, id: string) {
  return readWavInfo(path.join(app.library.songDir(id), app.library.get(id).stems[0].file));
}
