/**
 * The app's DAW-ready stems (issue 15.2), with the real engine host, ffmpeg and ONNX Runtime
 * (identity fixture model) on a song with known answers (120 BPM, A minor):
 * - the library's stems and an export carry the song's tempo and key (acid) and a bext
 *   description; exports follow the name pattern (Settings' exportNamePattern, or the request's);
 *   a bad pattern is refused with how to write one;
 * - dragout.prepareAll gives every stem as a drag-out file, and Electron's multi-file drag handler
 *   (electron/drag.ts, with a stand-in WebContents that records startDrag) drags exactly those,
 *   refusing the whole drag for a path outside the library/drag-out folders, a link out of them,
 *   an export, or a payload that is not the contract's;
 * - the browser shell's GET /zip/<song> streams them as one zip: unzipped by Python's zipfile (an
 *   independent reader), every entry equals its drag-out file byte for byte.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { App } from '../../src-main/host/app.js';
import { startBrowserShell, type BrowserShell } from '../../src-main/shells/browser/server.js';
import { startDragFiles } from '../../src-main/electron/drag.js';
import { readWavMetadata } from '../../src-main/engine/output/wav-metadata.js';
import { ApiCallError, type Song } from '../../src-main/api/contract.js';
import { isolatedHome, tempDir, waitJobEnd } from './helpers.js';
import { songIn120AMinor } from '../analysis/signals.js';

let app: App;
let shell: BrowserShell;
let song: Song;
const DAW = '{song} - {stem}[ - {bpm} BPM][ - {key}]';

before(async () => {
  isolatedHome();
  app = new App({ shell: 'browser' });
  await app.start();
  await app.settings.set({ model: 'identity-waveform' });
  shell = await startBrowserShell({ app });
  const input = songIn120AMinor(tempDir('stemdeck-daw-app-'));
  app.guard.choose(input);
  const job = await waitJobEnd(app, (await app.openFiles([input], undefined)).jobs[0].id);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  song = app.library.get(job.songId!);
});

after(async () => {
  await shell?.close();
  await app?.stop();
});

test('the library stems and the song know the tempo and key (found while separating)', async () => {
  assert.ok(song.tempo && Math.abs(song.tempo - 120) <= 2.4, `tempo ${song.tempo}`);
  assert.equal(song.key, 'A minor');
  for (const s of song.stems) {
    const m = await readWavMetadata(path.join(app.library.songDir(song.id), s.file));
    assert.equal(m.acid?.tempo, Math.fround(song.tempo!), s.name);
    assert.equal(m.acid?.rootNote, 69);
    assert.match(m.bext?.description ?? '', new RegExp(`^Stemdeck: ${s.name[0].toUpperCase()}${s.name.slice(1)}, ${song.tempo} BPM, A minor, model identity-waveform$`));
  }
});

test('export: WAV stems and the mix carry tempo/key; names follow the pattern (setting or request); a bad pattern is refused', async () => {
  const bpm = song.tempo!;
  // today's names by default
  const plain = await app.exportRun({ songId: song.id, stems: ['vocals'], mixdown: true, preset: null, format: 'wav24' });
  assert.deepEqual(plain.files.map((f) => f.name), ['Song in A minor - Vocals.wav', 'Song in A minor (Mix).wav']);
  for (const f of plain.files) {
    const m = await readWavMetadata(f.path);
    assert.equal(m.acid?.tempo, Math.fround(bpm), f.name);
    assert.equal(m.acid?.rootNote, 69, f.name);
  }
  assert.equal((await readWavMetadata(plain.files[1].path)).bext?.description, `Stemdeck: Mix, ${bpm} BPM, A minor, model identity-waveform`);

  // the DAW pattern from Settings
  await app.handlers()['settings.set']!({ exportNamePattern: DAW } as never, { shell: 'browser' });
  const daw = await app.exportRun({ songId: song.id, stems: ['vocals', 'other'], mixdown: false, preset: 'acappella', format: 'wav16' });
  assert.deepEqual(
    daw.files.map((f) => f.name),
    [`Song in A minor - Vocals - ${bpm} BPM - A min.wav`, `Song in A minor - Other - ${bpm} BPM - A min.wav`, `Song in A minor - A cappella - ${bpm} BPM - A min.wav`],
  );
  // the request's own pattern wins; null = today's names
  const own = await app.exportRun({ songId: song.id, stems: ['vocals'], mixdown: false, preset: null, format: 'flac', namePattern: '{bpm} {stem}' });
  assert.equal(own.files[0].name, `${bpm} Vocals.flac`);
  const ffprobe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', own.files[0].path], { encoding: 'utf8' });
  if (ffprobe.status === 0) {
    const tags = (JSON.parse(ffprobe.stdout) as { format: { tags: Record<string, string> } }).format.tags;
    assert.equal(tags.BPM, String(bpm), 'FLAC: BPM tag');
    assert.equal(tags.INITIALKEY, 'Am', 'FLAC: key tag');
  } else if (process.env.CI === 'true') assert.fail('ffprobe is missing (.ci/run installs it)');
  const none = await app.exportRun({ songId: song.id, stems: ['vocals'], mixdown: false, preset: null, format: 'wav24', namePattern: null });
  assert.equal(none.files[0].name, 'Song in A minor - Vocals.wav');

  await assert.rejects(
    async () => app.handlers()['settings.set']!({ exportNamePattern: '{song} {tempo}' } as never, { shell: 'browser' }),
    (e: unknown) => (e as ApiCallError).code === 'invalid-request' && /\{stem\}/.test((e as Error).message),
  );
  assert.equal(app.settings.get().exportNamePattern, DAW, 'the bad pattern was not kept');
  await app.settings.set({ exportNamePattern: null });
});

test('dragout.prepareAll + the Electron multi-file drag handler: startDrag gets every stem file, and bad payloads drag nothing', async () => {
  await app.settings.set({ exportNamePattern: DAW });
  const { files } = await app.dragOutAll({ songId: song.id });
  await app.settings.set({ exportNamePattern: null });
  assert.deepEqual(
    files.map((f) => f.fileName),
    song.stems.map((s) => `Song in A minor - ${s.name[0].toUpperCase()}${s.name.slice(1)} - ${song.tempo} BPM - A min.wav`),
  );
  for (const f of files) {
    assert.equal(f.ref.root, 'dragout');
    assert.equal((await readWavMetadata(f.path)).acid?.rootNote, 69);
  }

  const calls: { file: string; files?: string[]; icon: unknown }[] = [];
  const sender = { startDrag: (item: { file: string; files?: string[]; icon: unknown }) => void calls.push(item) };
  const dragged = startDragFiles(sender, { files: files.map((f) => f.path) }, app.guard, 'icon');
  assert.deepEqual(dragged, files.map((f) => fs.realpathSync(f.path)));
  assert.deepEqual(calls, [{ file: dragged![0], files: dragged!, icon: 'icon' }], 'one startDrag with every file');

  // the library's own stem files may be dragged too
  const libStem = path.join(app.library.songDir(song.id), song.stems[0].file);
  assert.ok(startDragFiles(sender, { files: [libStem] }, app.guard, 'icon'));
  calls.length = 0;

  const outside = path.join(tempDir('stemdeck-outside-'), 'secret.wav');
  fs.writeFileSync(outside, 'not yours');
  const link = path.join(path.dirname(files[0].path), 'link.wav');
  fs.symlinkSync(outside, link);
  const exported = (await app.exportRun({ songId: song.id, stems: ['vocals'], mixdown: false, preset: null, format: 'wav24' })).files[0].path;
  const refused: [string, unknown][] = [
    ['a file outside', { files: [files[0].path, outside] }],
    ['a link out of the drag-out folder', { files: [link] }],
    ['an export', { files: [exported] }],
    ['a folder', { files: [path.dirname(files[0].path)] }],
    ['a missing file', { files: [path.join(path.dirname(files[0].path), 'gone.wav')] }],
    ['no files', { files: [] }],
    ['not an object', files[0].path],
    ['an extra field', { files: [files[0].path], file: outside }],
  ];
  for (const [what, payload] of refused) assert.equal(startDragFiles(sender, payload, app.guard, 'icon'), null, what);
  assert.deepEqual(calls, [], 'nothing was dragged');
});

function get(urlPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: shell.port, path: urlPath, headers: { host: `127.0.0.1:${shell.port}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

test('browser shell: GET /zip/<song> is every stem as its drag-out file (Python unzips it, bytes equal); token and song checked', async () => {
  const r = await get(`/zip/${song.id}?token=${shell.token}`);
  assert.equal(r.status, 200, r.body.toString().slice(0, 300));
  assert.equal(r.headers['content-type'], 'application/zip');
  assert.match(String(r.headers['content-disposition']), /attachment; filename="Song in A minor \(stems\)\.zip"/);
  const dir = tempDir('stemdeck-zip-');
  const zipFile = path.join(dir, 'stems.zip');
  fs.writeFileSync(zipFile, r.body);
  const py = spawnSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; z.extractall(sys.argv[2]); print("\\n".join(z.namelist()))', zipFile, path.join(dir, 'x')], {
    encoding: 'utf8',
  });
  assert.equal(py.status, 0, py.stderr);
  const { files } = await app.dragOutAll({ songId: song.id });
  assert.deepEqual(py.stdout.trim().split('\n'), files.map((f) => f.fileName));
  for (const f of files) assert.ok(fs.readFileSync(path.join(dir, 'x', f.fileName)).equals(fs.readFileSync(f.path)), `${f.fileName}: same bytes`);

  assert.equal((await get(`/zip/${song.id}?token=wrong`)).status, 401);
  assert.equal((await get(`/zip/${song.id}`)).status, 401);
  assert.equal((await get(`/zip/0123456789abcdef?token=${shell.token}`)).status, 404);
  assert.equal((await get(`/zip/..%2Fetc?token=${shell.token}`)).status, 400);
});
