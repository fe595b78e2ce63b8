/**
 * The app keeps each song's detected tempo and key: the real App and engine host (identity fixture
 * model) separate a generated song with known answers; song.json and the library's list have
 * "tempo" and "key"; the renderer's label for them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { SongSchema } from '../../src-main/api/contract.js';
import { formatMusic } from '../../src-renderer/lib/format.js';
import { isolatedHome, tempDir, waitJobEnd } from '../app/helpers.js';
import { songIn120AMinor } from './signals.js';

let app: App;

before(async () => {
  isolatedHome();
  app = new App({ shell: 'browser', cancelGraceMs: 3000 });
  await app.start();
  await app.settings.set({ model: 'identity-waveform' });
});

after(async () => {
  await app.stop();
});

test('a separated song has its tempo and key in song.json and in the library list', async () => {
  const file = songIn120AMinor(tempDir('stemdeck-analysis-app-'));
  app.guard.choose(file);
  const r = await app.openFiles([file], undefined);
  const job = await waitJobEnd(app, r.jobs[0].id, 120_000);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  const onDisk = SongSchema.parse(JSON.parse(fs.readFileSync(path.join(app.library.songDir(job.songId!), 'song.json'), 'utf8')));
  assert.ok(onDisk.tempo && Math.abs(onDisk.tempo - 120) <= 2.4, `tempo ${onDisk.tempo}`);
  assert.ok(onDisk.firstBeatSeconds !== undefined && Math.abs(onDisk.firstBeatSeconds - 0.1) < 0.03, `first beat ${onDisk.firstBeatSeconds}`);
  assert.equal(onDisk.key, 'A minor');
  const summary = app.library.list().find((s) => s.id === job.songId);
  assert.equal(summary?.tempo, onDisk.tempo);
  assert.equal(summary?.key, 'A minor');
});

test('the renderer label: "120 BPM · A minor", either part alone, nothing for neither', () => {
  assert.equal(formatMusic({ tempo: 120, key: 'A minor' }), '120 BPM · A minor');
  assert.equal(formatMusic({ tempo: 109.74 }), '109.7 BPM');
  assert.equal(formatMusic({ key: 'Eb major' }), 'Eb major');
  assert.equal(formatMusic({}), '');
});
