/**
 * Issue 12, item 5: a model manifest may only use files inside its own folder. A `files[].path`
 * with "..", an absolute path, a symlink whose real path leaves the folder, or something that is
 * not a regular file (a device, a FIFO) is refused before any byte is hashed; `models list` marks
 * such a model as broken with the reason; `separate` stops with exit code 2 naming the model. A
 * cascade's stage ids name installed models only, never a file the process can reach.
 * Real CLI, real file system (symlinks, /dev/zero, mkfifo), real ONNX Runtime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixtureModels, identityWaveform, makeTone, tempDir } from './helpers.js';
import { stemdeck } from './cli-run.js';

const posix = process.platform !== 'win32';
const identityOnnx = path.join(fixtureModels, 'identity-waveform', 'identity-waveform.onnx');
const identityManifest = JSON.parse(fs.readFileSync(identityWaveform, 'utf8')) as Record<string, unknown> & {
  files: { path: string; sha256: string; bytes: number }[];
};

/** A temp root with models/ (STEMDECK_MODELS), elsewhere/x.onnx (a real model file outside it) and a song. */
function setup(): { root: string; models: string; elsewhere: string; song: string; env: Record<string, string> } {
  const root = tempDir('stemdeck-confine-');
  const models = path.join(root, 'models');
  const elsewhere = path.join(root, 'elsewhere', 'x.onnx');
  fs.mkdirSync(models);
  fs.mkdirSync(path.dirname(elsewhere));
  fs.copyFileSync(identityOnnx, elsewhere);
  const song = makeTone(path.join(root, 'song.wav'), 1.5);
  return { root, models, elsewhere, song, env: { STEMDECK_MODELS: models } };
}

/** Writes <models>/<id>/manifest.json: the identity model's manifest with this id and file entry. */
function userModel(models: string, id: string, file: { path: string; bytes?: number }): string {
  const dir = path.join(models, id);
  fs.mkdirSync(dir, { recursive: true });
  const f = { ...identityManifest.files[0], ...file };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...identityManifest, id, files: [f] }));
  return dir;
}

type Listed = { id: string; origin: string; problem?: string };
async function listed(env: Record<string, string>, cwd?: string): Promise<{ models: Listed[]; stderr: string }> {
  const r = await stemdeck(['models', 'list', '--json'], { env, cwd });
  assert.equal(r.code, 0, r.stderr);
  return { models: (JSON.parse(r.stdout) as Listed[]).filter((m) => m.origin !== 'catalogue'), stderr: r.stderr };
}

test('a manifest file path with ".." is refused: not listed as a model, separate exits 2 naming the manifest', async () => {
  const { models, song, root, env } = setup();
  // <models>/escape/../../elsewhere/x.onnx is the real model file outside the models folder
  const dir = userModel(models, 'escape', { path: '../../elsewhere/x.onnx' });
  const manifest = path.join(dir, 'manifest.json');

  const list = await listed(env);
  assert.ok(!list.models.some((m) => m.id === 'escape'), 'listed as a usable model');
  assert.ok(list.stderr.includes(manifest), list.stderr);
  assert.match(list.stderr, /files\.0\.path: must be a file inside the model's folder/);

  const out = path.join(root, 'out');
  const r = await stemdeck(['separate', song, '--model', 'escape', '--out', out, '--json'], { env });
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(manifest), r.stderr);
  assert.equal(r.json[0]?.code, 'model-corrupt');
  assert.ok(!fs.existsSync(path.join(out, 'song', 'vocals.wav')), 'no stems from a model outside its folder');
});

test('"/dev/zero" with "bytes": 0 is refused at once instead of hashing an endless stream', { skip: !posix && 'no /dev/zero' }, async () => {
  const { models, song, root, env } = setup();
  userModel(models, 'devzero', { path: '/dev/zero', bytes: 0 });
  const t0 = performance.now();
  const r = await stemdeck(['separate', song, '--model', 'devzero', '--out', path.join(root, 'out')], { env, timeoutMs: 30_000 });
  assert.equal(r.timedOut, false, 'separate hung (killed after 30 s)');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /devzero[\\/]manifest\.json" is invalid \(files\.0\.path: must be a file inside the model's folder.*files\.0\.bytes: must be the file's size in bytes/);
  assert.ok(performance.now() - t0 < 30_000);
});

test('symlinks out of the folder and files that are not regular files: listed as broken with the reason, separate exits 2', { skip: !posix && 'symlinks and FIFOs need POSIX' }, async () => {
  const { models, song, root, elsewhere, env } = setup();
  fs.symlinkSync(elsewhere, path.join(userModel(models, 'link-out', { path: 'x.onnx' }), 'x.onnx'));
  fs.symlinkSync('/dev/zero', path.join(userModel(models, 'link-zero', { path: 'x.onnx' }), 'x.onnx'));
  const fifoDir = userModel(models, 'fifo', { path: 'x.onnx' });
  assert.equal(spawnSync('mkfifo', [path.join(fifoDir, 'x.onnx')]).status, 0, 'mkfifo');
  // a symlink that stays inside the model's folder is fine
  const insideDir = userModel(models, 'link-in', { path: 'x.onnx' });
  fs.copyFileSync(identityOnnx, path.join(insideDir, 'real.onnx'));
  fs.symlinkSync('real.onnx', path.join(insideDir, 'x.onnx'));

  const { models: list } = await listed(env);
  const problem = (id: string): string => list.find((m) => m.id === id)?.problem ?? '';
  assert.match(problem('link-out'), /Model "link-out": its file "x\.onnx" is outside the model's folder/);
  assert.match(problem('link-zero'), /Model "link-zero": its file "x\.onnx" is outside the model's folder/);
  assert.match(problem('fifo'), /Model "fifo": its file "x\.onnx" is not a regular file/);
  assert.equal(list.find((m) => m.id === 'link-in')?.problem, undefined);

  const human = await stemdeck(['models', 'list'], { env });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^! +link-out /m, 'marked broken in the table');
  assert.match(human.stderr, /warning: model "link-out" cannot run: .*outside the model's folder/);

  const out = path.join(root, 'out');
  for (const [id, why] of [
    ['link-out', /outside the model's folder/],
    ['link-zero', /outside the model's folder/],
    ['fifo', /not a regular file/],
  ] as const) {
    const r = await stemdeck(['separate', song, '--model', id, '--out', out, '--json'], { env, timeoutMs: 30_000 });
    assert.equal(r.timedOut, false, `${id}: hung`);
    assert.equal(r.code, 2, `${id}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, new RegExp(`Fix "files" in .*${id}[\\\\/]manifest\\.json`));
  }
  assert.ok(!fs.existsSync(path.join(out, 'song', 'vocals.wav')));
  const ok = await stemdeck(['separate', song, '--model', 'link-in', '--out', out, '--json'], { env });
  assert.equal(ok.code, 0, ok.stderr);
});

test("a cascade's stage id names an installed model, never a file reachable from the working folder", async () => {
  const { models, song, root, env } = setup();
  // a manifest + model file in the folder the command runs in, named like a model id
  const cwd = path.join(root, 'cwd');
  fs.mkdirSync(cwd);
  fs.copyFileSync(identityOnnx, path.join(cwd, 'identity-waveform.onnx'));
  fs.writeFileSync(path.join(cwd, 'evil.json'), JSON.stringify({ ...identityManifest, id: 'evil' }));
  fs.cpSync(path.join(fixtureModels, 'identity-complex'), path.join(models, 'identity-complex'), { recursive: true });
  const cascade = {
    id: 'sneaky',
    name: 'Sneaky cascade',
    architecture: 'cascade',
    io: 'cascade',
    sampleRate: 44100,
    channels: 2,
    stems: ['vocals', 'other'],
    cascade: {
      stages: [
        { model: 'evil.json', keep: ['vocals'] },
        { model: 'identity-complex', keep: ['other'] },
      ],
    },
    trained: false,
    params: 0,
    license: 'MIT',
    source: 'test',
  };
  fs.mkdirSync(path.join(models, 'sneaky'));
  fs.writeFileSync(path.join(models, 'sneaky', 'manifest.json'), JSON.stringify(cascade));

  const { models: list } = await listed(env, cwd);
  assert.match(list.find((m) => m.id === 'sneaky')?.problem ?? '', /stage 1, "evil\.json", is not installed/);
  const r = await stemdeck(['separate', song, '--model', 'sneaky', '--out', path.join(root, 'out')], { env, cwd });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /stage 1, "evil\.json", is not installed/);
});
