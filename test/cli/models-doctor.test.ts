/** `stemdeck models list` and `stemdeck doctor` through the real bin. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, runCli, tempDir } from './helpers.js';

test('models list --json: the bundled models with the contract fields, exactly one default', async () => {
  const r = await runCli(['models', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const all = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.ok(Array.isArray(all));
  // installed models first; the model manager may append downloadable catalogue entries (origin "catalogue")
  const list = all.filter((m) => m.origin !== 'catalogue');
  assert.ok(list.length >= 1);
  assert.ok(all.filter((m) => m.origin === 'catalogue').every((m) => m.default === false));
  const index = JSON.parse(fs.readFileSync(path.join(repoRoot, 'resources', 'models', 'index.json'), 'utf8')) as { default: string };
  const defaults = list.filter((m) => m.default === true);
  assert.equal(defaults.length, 1);
  assert.equal(defaults[0].id, index.default);
  for (const m of list) {
    for (const key of ['id', 'architecture', 'io', 'stems', 'params', 'sampleRate', 'trained', 'license'])
      assert.ok(key in m, `${String(m.id)} lacks ${key}`);
    assert.equal(typeof m.default, 'boolean');
    assert.ok(Array.isArray(m.stems) && (m.stems as unknown[]).length > 0);
    assert.equal(typeof m.trained, 'boolean');
    if ('realtimeFactor' in m) assert.ok((m.realtimeFactor as number) > 0);
    // STEMDECK_HOME is an empty temp dir: only bundled models, then the catalogue (M1, issue 6)
    assert.ok(m.origin === 'bundled' || (m.origin === 'catalogue' && typeof m.installed === 'boolean'), String(m.origin));
  }
  const human = await runCli(['models', 'list']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, new RegExp(`\\* +${index.default.replace(/[.]/g, '\\.')} `));
});

test('models list picks up a user model from STEMDECK_MODELS', async () => {
  const models = tempDir('stemdeck-models-');
  const src = path.join(repoRoot, 'test', 'fixtures', 'models', 'identity-waveform');
  fs.cpSync(src, path.join(models, 'identity-waveform'), { recursive: true });
  const r = await runCli(['models', 'list', '--json'], { env: { STEMDECK_MODELS: models } });
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { id: string; origin: string; default: boolean }[];
  const user = list.find((m) => m.id === 'identity-waveform');
  assert.ok(user);
  assert.equal(user.origin, 'user');
  assert.equal(user.default, false);
});

test('doctor --json reports ffmpeg, ONNX Runtime providers, Electron, folders and bundled models', async () => {
  const lib = tempDir('stemdeck-lib-');
  const r = await runCli(['doctor', '--json'], { env: { STEMDECK_LIBRARY: lib } });
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as {
    ok: boolean;
    ffmpeg: { path: string; source: string; version: string | null };
    onnxruntime: { version: string; providers: { name: string; available: boolean }[] };
    electron: { present: boolean; version: string | null; note: string };
    folders: Record<string, { path: string; exists: boolean }>;
    models: { default: string; bundled: { id: string }[] };
  };
  assert.equal(d.ok, true);
  assert.ok(fs.existsSync(d.ffmpeg.path));
  assert.match(d.ffmpeg.source, /^(env|ffmpeg-static|@ffmpeg-installer|path)$/);
  assert.ok(d.ffmpeg.version);
  const ortVersion = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(d.onnxruntime.version, ortVersion);
  assert.deepEqual(d.onnxruntime.providers.map((p) => p.name).sort(), ['coreml', 'cpu', 'cuda', 'dml']);
  assert.equal(d.onnxruntime.providers.find((p) => p.name === 'cpu')?.available, true);
  const electronInstalled = fs.existsSync(path.join(repoRoot, 'node_modules', 'electron', 'package.json'));
  if (!electronInstalled) assert.equal(d.electron.present, false);
  assert.ok(d.electron.note.length > 0);
  assert.deepEqual(d.folders.library, { path: lib, exists: true });
  assert.equal(d.folders.bundledModels.path, path.join(repoRoot, 'resources', 'models'));
  assert.ok(d.models.bundled.some((m) => m.id === d.models.default));

  const human = await runCli(['doctor']);
  assert.equal(human.code, 0);
  for (const word of ['ffmpeg', 'onnxruntime', 'cpu', 'electron', 'song library', 'bundled']) assert.match(human.stdout, new RegExp(word));
});

test('doctor with a broken STEMDECK_FFMPEG says what to do and exits non-zero', async () => {
  const r = await runCli(['doctor', '--json'], { env: { STEMDECK_FFMPEG: '/nonexistent/ffmpeg' } });
  assert.equal(r.code, 1);
  const d = JSON.parse(r.stdout) as { ok: boolean; ffmpeg: { error?: string } };
  assert.equal(d.ok, false);
  assert.match(d.ffmpeg.error ?? '', /STEMDECK_FFMPEG/);
});

test('doctor --install-cuda without a connection fails with a clear one-line reason', async () => {
  // global-agent (used by onnxruntime-node's install script) routes through this proxy: port 9 refuses
  // the connection, so the download fails the same way as offline, whatever the network here.
  const proxy = 'http://127.0.0.1:9';
  const r = await runCli(['doctor', '--install-cuda'], { env: { GLOBAL_AGENT_HTTP_PROXY: proxy, GLOBAL_AGENT_HTTPS_PROXY: proxy } });
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Linux x64/);
    return;
  }
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Fetching the ONNX Runtime CUDA 12 provider/);
  assert.match(r.stderr, /^stemdeck: could not fetch the CUDA provider: no connection to api\.nuget\.org .*CPU separation keeps working/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
