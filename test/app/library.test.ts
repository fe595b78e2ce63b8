/**
 * The song library: atomic state files (a writer SIGKILLed at random moments never leaves a torn
 * song.json), start-up clean-up of staging folders and temp files, search, delete.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fork } from 'node:child_process';
import { Library, songIdFor, hashFile } from '../../src-main/library/library.js';
import { finalizeSong } from '../../src-main/library/finalize.js';
import { writeJsonAtomic } from '../../src-main/engine/output/atomic.js';
import { encodeSamples, wavHeader } from '../../src-main/engine/output/wav.js';
import { SongSchema } from '../../src-main/api/contract.js';
import { tempDir } from './helpers.js';

let root = '';
const settings = { model: 'identity-waveform', device: 'auto' as const, overlap: null };

async function addSong(lib: Library, title: string, artist: string, seed: number): Promise<string> {
  const src = path.join(tempDir('stemdeck-src-'), `${title}.wav`);
  const n = 44100;
  const a = [new Float32Array(n).map((_, i) => Math.sin(i * 0.01 * seed) * 0.5), new Float32Array(n)];
  fs.writeFileSync(src, Buffer.concat([wavHeader('wav16', 44100, 2, n), encodeSamples('wav16', a)]));
  const { hash, bytes } = await hashFile(src);
  const id = songIdFor(hash, settings);
  const staging = lib.stagingDir(`job-${seed}`);
  fs.mkdirSync(path.join(staging, 'stems'), { recursive: true });
  const outputs: Record<string, string> = {};
  for (const stem of ['vocals', 'other']) {
    outputs[stem] = path.join(staging, 'stems', `${stem}.wav`);
    fs.writeFileSync(outputs[stem], Buffer.concat([wavHeader('wav32f', 44100, 2, n), encodeSamples('wav32f', a)]));
  }
  await finalizeSong({
    staging,
    id,
    source: { path: src, name: path.basename(src), hash, bytes },
    settings,
    model: { id: 'identity-waveform', name: 'Identity' },
    outputs,
    stemOrder: ['vocals', 'other'],
    tags: { title, artist },
    hasArtwork: false,
    durationSeconds: 1,
  });
  await lib.commit(staging);
  return id;
}

before(() => {
  root = path.join(tempDir('stemdeck-lib-'), 'library');
});

test('writeJsonAtomic leaves no temp files and replaces the content', async () => {
  const d = tempDir();
  const f = path.join(d, 'state.json');
  await writeJsonAtomic(f, { a: 1 });
  await writeJsonAtomic(f, { a: 2 });
  assert.deepEqual(JSON.parse(fs.readFileSync(f, 'utf8')), { a: 2 });
  assert.deepEqual(fs.readdirSync(d), ['state.json']);
});

test('search, get, delete; dedupe lookup by hash + settings', async () => {
  const lib = new Library(root);
  await lib.init();
  const a = await addSong(lib, 'Blue Monday', 'New Order', 1);
  const b = await addSong(lib, 'Bizarre Love Triangle', 'New Order', 2);
  const c = await addSong(lib, 'Heroes', 'David Bowie', 3);
  assert.equal(lib.list().length, 3);
  assert.deepEqual(
    lib
      .list('new order')
      .map((s) => s.id)
      .sort(),
    [a, b].sort(),
  );
  assert.deepEqual(
    lib.list('BOWIE').map((s) => s.id),
    [c],
  );
  assert.deepEqual(
    lib.list('heroes bowie').map((s) => s.id),
    [c],
  );
  assert.equal(lib.list('nothing like this').length, 0);
  const song = lib.get(a);
  assert.ok(await lib.findExisting(song.source.hash, settings));
  assert.equal(await lib.findExisting(song.source.hash, { ...settings, overlap: 0.5 }), null);
  assert.equal(await lib.findExisting(song.source.hash, { ...settings, model: 'other-model' }), null);
  // A song whose stems vanished is not reused.
  fs.rmSync(path.join(lib.songDir(a), 'stems', 'vocals.wav'));
  assert.equal(await lib.findExisting(song.source.hash, settings), null);
  await lib.delete(a);
  assert.equal(fs.existsSync(lib.songDir(a)), false);
  assert.throws(() => lib.get(a), /not in the library/);
  assert.throws(() => lib.songDir('../x'), /not a song id/);
  assert.equal(lib.list().length, 2);
});

test('start-up removes staging folders, temp files and ignores invalid song.json', async () => {
  const lib = new Library(root);
  await lib.init();
  const n = lib.list().length;
  fs.mkdirSync(path.join(root, '.tmp-crashed-job', 'stems'), { recursive: true });
  fs.writeFileSync(path.join(root, '.tmp-crashed-job', 'stems', 'vocals.wav'), 'partial');
  const id = lib.list()[0].id;
  fs.writeFileSync(path.join(root, id, '.song.json.123.deadbeef.tmp'), '{"torn');
  fs.mkdirSync(path.join(root, 'broken-song'));
  fs.writeFileSync(path.join(root, 'broken-song', 'song.json'), '{"version": 1, "id": "broken-song"}');
  await lib.init();
  assert.equal(lib.list().length, n);
  assert.equal(fs.existsSync(path.join(root, '.tmp-crashed-job')), false);
  assert.equal(fs.existsSync(path.join(root, id, '.song.json.123.deadbeef.tmp')), false);
});

test('a writer SIGKILLed at random moments never leaves a torn song.json', async () => {
  const lib = new Library(root);
  await lib.init();
  const id = lib.list()[0].id;
  const file = path.join(root, id, 'song.json');
  for (let round = 0; round < 6; round++) {
    const child = fork(path.join(import.meta.dirname, 'children', 'mixer-writer.ts'), [root, id], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    await new Promise((r) => setTimeout(r, 30 + Math.random() * 250));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const song = SongSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
    assert.equal(song.id, id);
    const fresh = new Library(root);
    await fresh.init();
    assert.ok(fresh.has(id), `round ${round}: song still loads`);
    assert.deepEqual(
      fs.readdirSync(path.join(root, id)).filter((x) => x.endsWith('.tmp')),
      [],
    );
  }
  // The writes really happened (the state moved on from the default).
  const last = SongSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  assert.ok(Object.keys(last.mixer.lanes).includes('vocals'));
});
