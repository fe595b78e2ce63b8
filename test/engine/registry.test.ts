/**
 * Registry: bundled + user models, default id, lookup by id / manifest path / .onnx path,
 * invalid manifests reported, file verification (bytes, sha256) with the per-mtime hash cache.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadRegistry, verifyModel, cachedSha256, sha256File, StemdeckError, ModelManifestSchema } from '../../src-main/engine/index.js';
import { fixtureModel, isolateHome, repoRoot, tempDir } from './helpers.js';

let home = '';
before(() => {
  home = isolateHome();
});

test('bundled models validate and the default id is one of them', async () => {
  const reg = await loadRegistry();
  assert.deepEqual(reg.problems, [], JSON.stringify(reg.problems));
  const bundled = reg.list().filter((m) => m.origin === 'bundled');
  assert.ok(bundled.length >= 1);
  const index = JSON.parse(fs.readFileSync(path.join(repoRoot, 'resources', 'models', 'index.json'), 'utf8')) as { default: string };
  assert.equal(reg.defaultId, index.default);
  assert.equal(reg.list()[0].manifest.id, reg.defaultId, 'default listed first');
  for (const m of bundled) {
    assert.ok(ModelManifestSchema.safeParse(m.manifest).success);
    await verifyModel(m); // every bundled file matches its sha256 and size
  }
});

test('user models are merged in; lookup by id, manifest path and .onnx path', async () => {
  const models = path.join(home, 'models');
  fs.mkdirSync(models, { recursive: true });
  // folder layout: <models>/<id>/manifest.json
  fs.cpSync(path.dirname(fixtureModel('identity-waveform')), path.join(models, 'identity-waveform'), { recursive: true });
  // a broken manifest is reported, not fatal
  fs.mkdirSync(path.join(models, 'broken'));
  fs.writeFileSync(path.join(models, 'broken', 'manifest.json'), '{"io": "waveform", "files": [');
  const reg = await loadRegistry();
  const m = reg.get('identity-waveform');
  assert.equal(m.origin, 'user');
  assert.equal(reg.problems.length, 1);
  assert.throws(() => reg.get('broken'), (e: unknown) => e instanceof StemdeckError && e.code === 'model-corrupt');
  const byManifest = reg.get(fixtureModel('identity-complex'));
  assert.equal(byManifest.manifest.id, 'identity-complex');
  const byOnnx = reg.get(path.join(path.dirname(fixtureModel('identity-magnitude')), 'identity-magnitude.onnx'));
  assert.equal(byOnnx.manifest.id, 'identity-magnitude');
  const lone = path.join(tempDir(), 'lonely.onnx');
  fs.copyFileSync(path.join(models, 'identity-waveform', 'identity-waveform.onnx'), lone);
  assert.throws(() => reg.get(lone), (e: unknown) => e instanceof StemdeckError && e.code === 'model-unknown');
  assert.throws(() => reg.get('nope'), (e: unknown) => e instanceof StemdeckError && e.code === 'model-unknown' && /stemdeck models list/.test(e.message));
  fs.rmSync(path.join(models, 'broken'), { recursive: true });
});

test('verifyModel: missing file, wrong size, wrong hash; the hash is cached per mtime', async () => {
  const dir = tempDir();
  fs.cpSync(path.dirname(fixtureModel('identity-complex')), dir, { recursive: true });
  const reg = await loadRegistry();
  const m = reg.get(path.join(dir, 'manifest.json'));
  await verifyModel(m);
  const onnx = path.join(dir, 'identity-complex.onnx');
  // cached: same answer, and the cache file exists in STEMDECK_HOME
  assert.equal(await cachedSha256(onnx), await sha256File(onnx));
  assert.ok(fs.existsSync(path.join(home, 'model-hashes.json')));
  // same size, different bytes, new mtime → detected
  const b = fs.readFileSync(onnx);
  b[b.length - 1] ^= 1;
  fs.writeFileSync(onnx, b);
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(onnx, t, t);
  await assert.rejects(verifyModel(m), (e: unknown) => e instanceof StemdeckError && e.code === 'model-corrupt' && /checksum/.test(e.message));
  fs.writeFileSync(onnx, b.subarray(0, 10));
  await assert.rejects(verifyModel(m), (e: unknown) => e instanceof StemdeckError && e.code === 'model-corrupt' && /bytes/.test(e.message));
  fs.rmSync(onnx);
  await assert.rejects(verifyModel(m), (e: unknown) => e instanceof StemdeckError && e.code === 'model-corrupt' && /missing/.test(e.message));
});

test("manifest file paths stay inside the model's folder by their text; a size is required", async () => {
  const { isConfinedPath } = await import('../../src-main/engine/manifest.js');
  for (const ok of ['model.onnx', 'sub/model.onnx', 'sub\\model.onnx', 'a..b.onnx']) assert.equal(isConfinedPath(ok), true, ok);
  for (const bad of ['../x.onnx', '../../../elsewhere/x.onnx', 'sub/../../x.onnx', '/dev/zero', '\\\\server\\share\\x.onnx', 'C:\\x.onnx', 'c:x.onnx', './x.onnx', 'sub//x.onnx', 'x\0.onnx'])
    assert.equal(isConfinedPath(bad), false, bad);
  const manifest = JSON.parse(fs.readFileSync(fixtureModel('identity-waveform'), 'utf8')) as { files: { bytes: number }[] };
  assert.equal(ModelManifestSchema.safeParse(manifest).success, true);
  manifest.files[0].bytes = 0;
  assert.equal(ModelManifestSchema.safeParse(manifest).success, false, 'bytes 0 (unchecked size) is refused');
});

test("verifyModel refuses a symlink out of the model's folder and a file that is not regular, before hashing", { skip: process.platform === 'win32' && 'symlinks' }, async () => {
  const dir = tempDir();
  fs.cpSync(path.dirname(fixtureModel('identity-complex')), dir, { recursive: true });
  const onnx = path.join(dir, 'identity-complex.onnx');
  const outside = path.join(tempDir(), 'outside.onnx');
  fs.renameSync(onnx, outside);
  fs.symlinkSync(outside, onnx); // same bytes and checksum, but the real file is elsewhere
  const reg = await loadRegistry();
  const m = reg.get(path.join(dir, 'manifest.json'));
  await assert.rejects(verifyModel(m), (e: unknown) => e instanceof StemdeckError && e.code === 'model-corrupt' && /outside the model's folder/.test(e.message));
  fs.rmSync(onnx);
  fs.mkdirSync(onnx); // a folder where the file should be
  await assert.rejects(verifyModel(m), (e: unknown) => e instanceof StemdeckError && e.code === 'model-corrupt' && /not a regular file/.test(e.message));
});
