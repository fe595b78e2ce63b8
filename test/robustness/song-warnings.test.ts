// Issue 12, items 1, 3 and 9 in the app, after the queue: a job's warnings (NaN samples replaced, a
// device chosen in Settings that this machine cannot use) show on the job, are kept in the song's
// song.json (SongSchema), and are still listed with the library entry after "Clear finished" and a
// restart. Real App, engine host process, ONNX Runtime (identity fixture model) and files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { createDispatcher, SongSchema, type SongSummary } from '../../src-main/api/contract.js';
import { availableProviders } from '../../src-main/engine/onnx.js';
import { ffmpeg, isolatedHome, makeSong, tempDir, waitJobEnd } from '../app/helpers.js';
import { writeFloatSamples } from './helpers.js';

// a GPU provider ONNX Runtime cannot use here (none on a machine where every one works)
const unavailable = availableProviders().find((p) => p.name !== 'cpu' && !p.available)?.name as 'cuda' | 'dml' | 'coreml' | undefined;

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
  const job = await waitJobEnd(app, r.jobs[0].id);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  return job;
}

/** A 32-bit float WAV with `n` NaN samples. */
function poisoned(name: string, n: number): string {
  const src = path.join(media, `${name}-src.wav`);
  makeSong(src, 2, name);
  const f32 = path.join(media, `${name}.wav`);
  ffmpeg(['-i', src, '-c:a', 'pcm_f32le', f32]);
  writeFloatSamples(f32, Array.from({ length: n }, (_, k) => [1000 + 7919 * k, NaN] as const));
  return f32;
}

async function listed(a: App): Promise<SongSummary[]> {
  // through the API boundary the renderer uses (params and result validated)
  const r = await createDispatcher(a.handlers()).dispatch('library.list', {}, { shell: 'browser' });
  assert.ok(r.ok, JSON.stringify(r));
  return r.result as SongSummary[];
}

test('a device chosen in Settings that cannot be used here: the job is done on the CPU with a one-line warning', { skip: !unavailable && 'every GPU provider is available here' }, async () => {
  await app.settings.set({ device: unavailable! });
  try {
    const file = path.join(media, 'gpu-wanted.wav');
    makeSong(file, 2, 'GPU wanted', 330);
    const job = await run(file);
    assert.deepEqual(job.warnings?.map((w) => w.code), ['device-fallback']);
    const message = job.warnings![0].message;
    assert.match(message, new RegExp(`^Settings ask for the GPU \\(${unavailable}\\), but it cannot be used here, so this song was separated on the CPU \\(using CPU \\(${unavailable}: .+\\)\\)\\. Pick Auto or CPU in Settings`));
    assert.ok(!message.includes('\n'), 'one line');
    assert.deepEqual(app.host.list().find((j) => j.id === job.id)?.warnings, job.warnings, 'listed on the queue');
  } finally {
    await app.settings.set({ device: 'auto' });
  }
});

test('a job\'s warnings are kept with its song: song.json, the library entry, after Clear finished and a restart', async () => {
  const warned = await run(poisoned('Five NaN', 5));
  assert.deepEqual(warned.warnings?.map((w) => w.code), ['input-non-finite']);
  const clean = path.join(media, 'clean.wav');
  makeSong(clean, 2, 'Clean', 440);
  const ok = await run(clean);
  assert.equal(ok.warnings, undefined);

  // on disk, in the one song schema
  const songJson = (id: string): unknown => JSON.parse(fs.readFileSync(path.join(app.library.songDir(id), 'song.json'), 'utf8'));
  assert.deepEqual(SongSchema.parse(songJson(warned.songId!)).warnings, warned.warnings);
  assert.equal(SongSchema.parse(songJson(ok.songId!)).warnings, undefined, 'no warnings key for a clean song');

  // Clear finished, restart: the queue forgets the jobs, the library still says it
  app.host.clear();
  assert.equal(app.host.list().filter((j) => j.id === warned.id).length, 0);
  await app.stop();
  app = new App({ shell: 'browser', cancelGraceMs: 3000 });
  await app.start();
  assert.equal(app.host.list().filter((j) => j.id === warned.id).length, 0, 'the job is gone');
  const songs = await listed(app);
  const entry = songs.find((s) => s.id === warned.songId);
  assert.ok(entry, 'the song is listed');
  assert.deepEqual(entry.warnings?.map((w) => w.code), ['input-non-finite']);
  assert.match(entry.warnings![0].message, /holds 5 samples that are not a number .*replaced with silence/);
  assert.equal(songs.find((s) => s.id === ok.songId)?.warnings, undefined);
  assert.deepEqual(app.library.get(warned.songId!).warnings, warned.warnings, 'library.get too');
});
