/**
 * The Electron shell's `stems://` scheme serves a running job's live files (play while it
 * separates: <app data>/live/<job>/mixture.f32 and stem<i>.f32, fetched by byte range as they grow)
 * through the same PathGuard as the library. Electron cannot open a window here, so the scheme's
 * handler (electron/media.ts stemsResponse, which main.ts registers) runs with the app's own guard:
 * files inside the live root are served (whole, and by Range while the file grows); `..` escapes,
 * encoded ones, other roots and folders, a link out of the live root, a folder, a missing file and
 * absolute paths are refused. The live root is the one App.start() gives the guard, and the job's
 * refs (host.ts liveOf: {root: 'live', path: '<job>/<name>.f32'}) resolve through it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { fileResponse, stemsResponse } from '../../src-main/electron/media.js';
import { isolatedHome, tempDir } from './helpers.js';

let app: App;
let jobDir = '';
const JOB = 'mxlive01-0a1b2c3d';

before(async () => {
  isolatedHome();
  app = new App({ shell: 'electron' });
  await app.start();
  jobDir = path.join(app.liveDir, JOB);
  fs.mkdirSync(jobDir, { recursive: true });
});

after(async () => {
  await app.stop();
});

const get = (url: string, range?: string) => stemsResponse(new Request(url, range ? { headers: { range } } : {}), app.guard);

test('a live file is served through the guard, whole and by byte range while it grows', async () => {
  const file = path.join(jobDir, 'mixture.f32');
  const first = Buffer.from(Float32Array.from([0.5, -0.5, 0.25, -0.25]).buffer);
  fs.writeFileSync(file, first);
  // the ref a live job's state carries (host.ts liveOf) resolves to that file
  assert.equal(app.guard.resolveMedia({ root: 'live', path: `${JOB}/mixture.f32` }), fs.realpathSync(file));

  const whole = await get(`stems://live/${JOB}/mixture.f32`);
  assert.equal(whole.status, 200);
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(first));

  fs.appendFileSync(file, Buffer.from(Float32Array.from([1, -1]).buffer)); // the decode goes on
  const part = await get(`stems://live/${JOB}/mixture.f32`, 'bytes=16-23');
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), 'bytes 16-23/24');
  assert.deepEqual([...new Float32Array(await part.arrayBuffer())], [1, -1]);
  const ahead = await get(`stems://live/${JOB}/mixture.f32`, 'bytes=24-31'); // not decoded yet
  assert.equal(ahead.status, 416);

  fs.writeFileSync(path.join(jobDir, 'stem0.f32'), Buffer.alloc(8));
  assert.equal((await get(`stems://live/${JOB}/stem0.f32`)).status, 200);
});

test('escapes, other folders and other roots are refused; what is not there is not found', async () => {
  const home = process.env.STEMDECK_HOME!;
  fs.writeFileSync(path.join(home, 'settings-copy.json'), '{}');
  fs.mkdirSync(app.importsDir, { recursive: true });
  fs.writeFileSync(path.join(app.importsDir, 'upload.flac'), 'x');
  const outside = path.join(tempDir('stemdeck-outside-'), 'secret.f32');
  fs.writeFileSync(outside, 'secret');
  fs.symlinkSync(outside, path.join(jobDir, 'link.f32'));
  fs.symlinkSync(path.dirname(outside), path.join(jobDir, 'linkdir'));

  const forbidden = [
    `stems://live/${JOB}/..%2f..%2fsettings-copy.json`, // an encoded slash: one segment for the URL parser, '..' for the guard
    `stems://live/${encodeURIComponent(`${JOB}/../../settings-copy.json`)}`,
    `stems://live/${encodeURIComponent(outside)}`, // an absolute path
    `stems://live/${JOB}/link.f32`, // a link out of the live root
    `stems://live/${JOB}/linkdir/secret.f32`,
    'stems://imports/upload.flac', // uploads are inputs, never media
    'stems://home/settings-copy.json',
    `stems://live/${JOB}/.tmp-x/mixture.f32`,
  ];
  for (const url of forbidden) {
    const r = await get(url);
    assert.equal(r.status, 403, `${url}: ${r.status}`);
  }
  for (const url of [
    `stems://live/${JOB}/stem9.f32`, // not (yet) there
    `stems://live/${JOB}`, // a folder
    // the URL parser takes these dot segments away (as it would for any page): live/settings-copy.json, not there
    `stems://live/${JOB}/../../settings-copy.json`,
    `stems://live/${JOB}/%2e%2e/%2e%2e/settings-copy.json`,
  ]) {
    const r = await get(url);
    assert.equal(r.status, 404, `${url}: ${r.status}`);
  }
  // the guard itself, with the same paths as refs
  for (const p of [`${JOB}/../../settings-copy.json`, `../${JOB}/mixture.f32`, `/${JOB}/mixture.f32`, `${JOB}\\mixture.f32`, `${JOB}/link.f32`])
    assert.throws(() => app.guard.resolveMedia({ root: 'live', path: p }), (e: Error & { code?: string }) => e.code === 'path-forbidden', p);
});

test('fileResponse: a folder is no file (404 from the scheme), an empty file is an empty body', async () => {
  await assert.rejects(fileResponse(jobDir, new Request('stems://live/x')), (e: Error & { code?: string }) => e.code === 'input-missing');
  const empty = path.join(jobDir, 'stem1.f32');
  fs.writeFileSync(empty, '');
  const r = await get(`stems://live/${JOB}/stem1.f32`);
  assert.equal(r.status, 200);
  assert.equal((await r.arrayBuffer()).byteLength, 0);
});
