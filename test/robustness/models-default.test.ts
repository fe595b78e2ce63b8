/**
 * Issue 12, item 6: a broken default model never silently switches to another model. With the
 * default's manifest damaged (or the default missing), `separate` without --model stops with exit
 * code 2 naming the manifest and what to do, `doctor` says BROKEN and exits 1, `models list` says
 * why, and the engine (what the app calls) refuses the same way. Real CLI, real file system.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixtureModels, makeTone, tempDir } from './helpers.js';
import { stemdeck } from './cli-run.js';

/**
 * A bundled-models folder whose index.json names `identity-waveform` as the default, with that
 * model's manifest cut short (damaged) and, unless `alone`, an intact `identity-complex` beside it.
 */
function brokenBundle(opts: { alone?: boolean; defaultId?: string } = {}): { bundled: string; manifest: string; song: string; root: string } {
  const root = tempDir('stemdeck-default-');
  const bundled = path.join(root, 'bundled');
  fs.cpSync(path.join(fixtureModels, 'identity-waveform'), path.join(bundled, 'identity-waveform'), { recursive: true });
  const manifest = path.join(bundled, 'identity-waveform', 'manifest.json');
  fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').slice(0, 120));
  if (!opts.alone) fs.cpSync(path.join(fixtureModels, 'identity-complex'), path.join(bundled, 'identity-complex'), { recursive: true });
  fs.writeFileSync(path.join(bundled, 'index.json'), JSON.stringify({ default: opts.defaultId ?? 'identity-waveform' }));
  const song = makeTone(path.join(root, 'song.wav'), 1.5);
  return { bundled, manifest, song, root };
}

test('separate without --model: the damaged default is named, no other model is used, exit 2', async () => {
  const { bundled, manifest, song, root } = brokenBundle();
  const out = path.join(root, 'out');
  const r = await stemdeck(['separate', song, '--out', out, '--json'], { env: { STEMDECK_BUNDLED_MODELS: bundled } });
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`The default model "identity-waveform" cannot be used: The model manifest "${manifest}" cannot be read`), r.stderr);
  assert.match(r.stderr, /reinstall Stemdeck.*--model ID/);
  assert.equal(r.json.length, 1);
  assert.equal(r.json[0].code, 'model-corrupt');
  assert.equal(r.json[0].outputs, undefined);
  assert.ok(!fs.existsSync(path.join(out, 'song')), 'nothing separated with another model');
});

test('doctor with a damaged default model: BROKEN, not "All set", exit 1', async () => {
  const { bundled, manifest } = brokenBundle();
  const env = { STEMDECK_BUNDLED_MODELS: bundled };
  const j = await stemdeck(['doctor', '--json'], { env });
  assert.equal(j.code, 1, j.stderr);
  const d = JSON.parse(j.stdout) as { ok: boolean; models: { default: string; defaultProblem?: string; problems: string[] } };
  assert.equal(d.ok, false);
  assert.equal(d.models.default, 'identity-waveform');
  assert.ok(d.models.defaultProblem?.includes(manifest), d.models.defaultProblem);
  assert.ok(!d.models.problems.some((p) => p.includes(manifest)), 'said once, as the default problem');

  const human = await stemdeck(['doctor'], { env });
  assert.equal(human.code, 1);
  assert.match(human.stdout, /default model +BROKEN: The default model "identity-waveform" cannot be used/);
  assert.doesNotMatch(human.stdout, /All set/);
  assert.match(human.stdout, /Not ready/);

  const list = await stemdeck(['models', 'list'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.ok(list.stderr.includes(`The default model "identity-waveform" cannot be used: The model manifest "${manifest}"`), list.stderr);
});

test('with no other model: the damaged default is named, not "No model is installed … unexpected error"', async () => {
  const { bundled, manifest, song, root } = brokenBundle({ alone: true });
  const r = await stemdeck(['separate', song, '--out', path.join(root, 'out')], { env: { STEMDECK_BUNDLED_MODELS: bundled } });
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(manifest), r.stderr);
  assert.doesNotMatch(r.stderr, /unexpected error|No model is installed/);
});

test('a default named in index.json but not installed: said, and no other model is used', async () => {
  const { bundled, song, root } = brokenBundle({ defaultId: 'gone-model' });
  const r = await stemdeck(['separate', song, '--out', path.join(root, 'out')], { env: { STEMDECK_BUNDLED_MODELS: bundled } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /The default model "gone-model" \(named in .*index\.json\) is not installed\. Reinstall Stemdeck/);
  assert.ok(!fs.existsSync(path.join(root, 'out', 'song')));
});

test('the engine (as the app calls it) refuses the damaged default the same way', async () => {
  const { bundled, manifest, song, root } = brokenBundle();
  process.env.STEMDECK_BUNDLED_MODELS = bundled;
  process.env.STEMDECK_HOME = path.join(root, 'home');
  process.env.STEMDECK_MODELS = path.join(root, 'home', 'models');
  const { loadRegistry } = await import('../../src-main/engine/registry.js');
  const { separateFile } = await import('../../src-main/engine/separate.js');
  const reg = await loadRegistry();
  assert.equal(reg.defaultId, 'identity-waveform', 'the default stays the default');
  assert.ok(reg.defaultProblem?.includes(manifest));
  await assert.rejects(
    separateFile({ input: song, outDir: path.join(root, 'engine-out') }),
    (e: unknown) => (e as { code?: string }).code === 'model-corrupt' && (e as Error).message.includes(manifest),
  );
  assert.ok(!fs.existsSync(path.join(root, 'engine-out', 'vocals.wav')));
});

test('the app names the damaged default (not "not installed") when a job would use it', async () => {
  const { bundled, manifest, root } = brokenBundle();
  process.env.STEMDECK_BUNDLED_MODELS = bundled;
  process.env.STEMDECK_HOME = path.join(root, 'app-home');
  process.env.STEMDECK_MODELS = path.join(root, 'app-home', 'models');
  process.env.STEMDECK_LIBRARY = path.join(root, 'app-home', 'library');
  const { App } = await import('../../src-main/host/app.js');
  const app = new App({ shell: 'browser' });
  await assert.rejects(
    app.resolveSettings(),
    (e: unknown) => (e as { code?: string }).code === 'model-corrupt' && (e as Error).message.includes(manifest),
  );
});
