/**
 * A cascade in the app: the Models list (API 'models.list') shows it as one model with its pipeline,
 * the size of its stage models and, when a stage model is missing, why it cannot run; a job with it
 * runs in the engine host and gives one song with the cascade's stems.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { isolatedHome, makeSong, tempDir, waitJobEnd } from './helpers.js';

let app: App;
let models = '';

function cascade(id: string, stage1: string): Record<string, unknown> {
  return {
    id,
    name: `Cascade ${id}`,
    architecture: 'cascade',
    io: 'cascade',
    sampleRate: 44100,
    channels: 2,
    stems: ['vocals', 'drums', 'bass', 'other'],
    residual: 'other',
    cascade: { stages: [{ model: stage1, keep: ['vocals'] }, { model: 'bsrnn-small-v1', keep: ['drums', 'bass', 'other'] }] },
    trained: true,
    params: 0,
    license: 'test',
    source: 'test',
  };
}

before(async () => {
  const home = isolatedHome();
  models = path.join(home, 'models');
  for (const [id, stage1] of [['app-cascade', 'demucs-small-v1'], ['app-broken-cascade', 'no-such-model']]) {
    fs.mkdirSync(path.join(models, id), { recursive: true });
    fs.writeFileSync(path.join(models, id, 'manifest.json'), JSON.stringify(cascade(id, stage1)));
  }
  app = new App({ shell: 'browser', cancelGraceMs: 3000 });
  await app.start();
});

after(async () => {
  await app.stop();
});

test('models.list: a cascade is one entry with its pipeline and stage sizes; a broken one says why', async () => {
  const list = await app.modelInfos();
  const c = list.filter((m) => m.id === 'app-cascade');
  assert.equal(c.length, 1);
  assert.equal(c[0].io, 'cascade');
  assert.deepEqual(c[0].stages?.map((s) => [s.model, s.keep]), [
    ['demucs-small-v1', ['vocals']],
    ['bsrnn-small-v1', ['drums', 'bass', 'other']],
  ]);
  assert.equal(c[0].stages?.[0].name, list.find((m) => m.id === 'demucs-small-v1')?.name);
  const stageBytes = ['demucs-small-v1', 'bsrnn-small-v1'].reduce((s, id) => s + (list.find((m) => m.id === id)?.sizeBytes ?? NaN), 0);
  assert.equal(c[0].sizeBytes, stageBytes);
  assert.equal(c[0].problem, undefined);
  const broken = list.find((m) => m.id === 'app-broken-cascade');
  assert.match(broken?.problem ?? '', /no-such-model.*not installed/);
});

test('a job with the cascade: one song with the cascade stems', async () => {
  await app.settings.set({ model: 'app-cascade' });
  const song = makeSong(path.join(tempDir('stemdeck-media-'), 'cascade.flac'), 4, 'Cascade Song');
  app.guard.choose(song);
  const r = await app.openFiles([song], undefined);
  assert.equal(r.jobs.length, 1);
  const job = await waitJobEnd(app, r.jobs[0].id, 120_000);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  const s = app.library.get(job.songId!);
  assert.equal(s.model.id, 'app-cascade');
  assert.deepEqual(
    s.stems.map((x) => x.name),
    ['vocals', 'drums', 'bass', 'other'],
  );
});

test('a job with a cascade whose stage model is missing fails with the clear message', async () => {
  await app.settings.set({ model: 'app-broken-cascade' });
  const song = makeSong(path.join(tempDir('stemdeck-media-'), 'broken.flac'), 2, 'Broken Cascade');
  app.guard.choose(song);
  const r = await app.openFiles([song], undefined);
  const job = await waitJobEnd(app, r.jobs[0].id, 60_000);
  assert.equal(job.status, 'failed');
  assert.equal(job.error?.code, 'model-unknown');
  assert.match(job.error?.message ?? '', /no-such-model/);
});
