// Issue 12, items 1, 3 and 10 in the app: the real App with its engine host process (identity
// fixture model). A float WAV with NaN samples becomes a song whose job carries the warning (and the
// song's stems are finite); inputs that cannot succeed (empty, cut off, too short) fail with a
// message that says what to do and are not offered a Retry, while failures a later attempt can get
// past (a missing file that may come back, a crash, a full disk) still are.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { StemdeckError } from '../../src-main/engine/errors.js';
import { canRetry } from '../../src-main/shared/retry.js';
import { ffmpeg, isolatedHome, makeSong, tempDir, waitJobEnd } from '../app/helpers.js';
import { allFinite, readWav, truncate, writeFloatSamples } from './helpers.js';

let app: App;
let media = '';

before(async () => {
  isolatedHome();
  media = tempDir('stemdeck-media-');
  app = new App({ shell: 'browser', cancelGraceMs: 3000 });
  await app.start();
  await app.settings.set({ model: 'identity-waveform' });
});

after(async () => {
  await app.stop();
});

async function run(file: string): Promise<ReturnType<App['host']['list']>[number]> {
  app.guard.choose(file);
  const r = await app.openFiles([file], undefined);
  assert.equal(r.refused.length, 0, JSON.stringify(r.refused));
  assert.equal(r.jobs.length, 1);
  return waitJobEnd(app, r.jobs[0].id);
}

function assertNoRetry(job: { id: string; status: string; error: { code: string } | null }): void {
  assert.equal(canRetry(job), false, 'the queue shows no Retry');
  assert.throws(
    () => app.host.retry(job.id),
    (e: unknown) => e instanceof StemdeckError && e.code === 'invalid-request' && /Retrying would fail the same way/.test(e.message),
  );
  assert.equal(app.host.list().find((j) => j.id === job.id)?.status, 'failed', 'still failed, not queued again');
}

test('NaN samples: the job is done with a warning the user sees, and the song\'s stems are finite', async () => {
  const src = path.join(media, 'nan-src.wav');
  makeSong(src, 2, 'Poisoned');
  // to 32-bit float, then 5 NaN samples
  const f32 = path.join(media, 'poisoned.wav');
  ffmpeg(['-i', src, '-c:a', 'pcm_f32le', f32]);
  writeFloatSamples(f32, [100, 5000, 9999, 30_000, 80_001].map((k) => [k, NaN] as const));

  const job = await run(f32);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  assert.deepEqual(
    job.warnings?.map((w) => w.code),
    ['input-non-finite'],
  );
  assert.match(job.warnings![0].message, /5 samples that are not a number .*replaced with silence/);
  const song = app.library.get(job.songId!);
  for (const st of song.stems) for (const ch of readWav(path.join(app.library.songDir(song.id), st.file)).data) assert.ok(allFinite(ch), `${st.name} is finite`);
  // listed the same way (queue.list is what the renderer reads)
  assert.deepEqual(app.host.list().find((j) => j.id === job.id)?.warnings, job.warnings);
});

test('an empty, a cut-off and a too-short file fail with what to do, and offer no Retry', async () => {
  const empty = path.join(media, 'empty.wav');
  fs.writeFileSync(empty, '');
  const full = makeSong(path.join(media, 'full.flac'), 4, 'Cut Off');
  const cut = truncate(full, path.join(media, 'cut.flac'), 0.5);
  const blip = makeSong(path.join(media, 'blip.wav'), 0.16, 'Blip');
  for (const [file, code, message] of [
    [empty, 'input-corrupt', /is empty \(0 bytes\)\. Pick a complete audio file\./],
    [cut, 'input-corrupt', /cut off or damaged: it should last 4\.00 s, but only [12]\.\d\d s could be decoded/],
    [blip, 'input-too-short', /too short to separate \(0\.16 s; Stemdeck needs at least 0\.2 s of audio\)/],
  ] as const) {
    const job = await run(file);
    assert.equal(job.status, 'failed', `${path.basename(file)} fails`);
    assert.equal(job.error?.code, code, job.error?.message);
    assert.match(job.error?.message ?? '', message);
    assert.equal(job.songId, null, 'no library entry');
    assertNoRetry(job);
  }
  assert.ok(!app.library.list().some((s) => /Cut Off|Blip/.test(s.title)), 'no "0:00" or partial song in the library');
});

test('Retry stays for failures the next attempt can get past', () => {
  for (const code of ['input-missing', 'engine-crashed', 'disk-full', 'output-unwritable', 'internal'])
    assert.equal(canRetry({ status: 'failed', error: { code } }), true, code);
  assert.equal(canRetry({ status: 'cancelled', error: null }), true);
  assert.equal(canRetry({ status: 'done', error: null }), false);
});
