/**
 * `stemdeck models import <cascade.json>` and `models remove` of cascades and their stage models,
 * through the real bin, the real registry (bundled resources/models + a temporary user folder)
 * and real files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CascadeManifestSchema } from '../../src-main/engine/manifest.js';
import { type CliRun, listTree, runStemdeck, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIX = path.join(here, 'fixtures');
let home: string;
let models: string;
let work: string;

before(async () => {
  home = await tempDir('cascade');
  models = path.join(home, 'models');
  work = path.join(home, 'work');
  await fs.mkdir(work, { recursive: true });
});
after(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

function cli(args: string[]): Promise<CliRun> {
  return runStemdeck(args, home, { unset: ['STEMDECK_MODELS', 'STEMDECK_BUNDLED_MODELS'] });
}

type Listed = Record<string, unknown> & { id: string; origin: string };
async function list(): Promise<Listed[]> {
  const r = await cli(['models', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Listed[]).filter((m) => m.origin !== 'catalogue');
}

/** A cascade of two models: stage 1 keeps `first`, stage 2 keeps drums, bass, other. */
function cascade(id: string, first: string, second = 'bsrnn-small-v1', keep2 = ['drums', 'bass', 'other']) {
  return {
    id,
    name: `Cascade ${id}`,
    architecture: 'cascade',
    io: 'cascade',
    sampleRate: 44100,
    channels: 2,
    stems: ['vocals', ...keep2],
    residual: 'other',
    cascade: {
      stages: [
        { model: first, keep: ['vocals'] },
        { model: second, keep: keep2 },
      ],
    },
    trained: true,
    params: 0,
    license: 'as its stage models',
    source: 'test',
  };
}

async function writeJson(name: string, value: unknown): Promise<string> {
  const f = path.join(work, name);
  await fs.writeFile(f, JSON.stringify(value, null, 2));
  return f;
}

describe('models import <cascade.json>', () => {
  it('imports a cascade of bundled models once, refuses the same id again, and removes it', async () => {
    const src = cascade('my-cascade', 'demucs-small-v1');
    const file = await writeJson('my-cascade.json', src);
    const r = await cli(['models', 'import', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim()) as { id: string; dir: string; io: string; stems: string[]; stages: unknown };
    assert.equal(j.id, 'my-cascade');
    assert.equal(j.io, 'cascade');
    assert.equal(path.resolve(j.dir), path.join(models, 'my-cascade'));
    assert.deepEqual(j.stages, src.cascade.stages);
    // Installed as <models>/<id>/manifest.json, nothing else (no staging or trash left behind).
    assert.deepEqual(await listTree(models), ['my-cascade/manifest.json']);
    const installed = CascadeManifestSchema.parse(JSON.parse(await fs.readFile(path.join(models, 'my-cascade', 'manifest.json'), 'utf8')));
    assert.deepEqual(installed.cascade.stages, src.cascade.stages);
    assert.deepEqual(installed.stems, ['vocals', 'drums', 'bass', 'other']);

    const listed = (await list()).filter((m) => m.id === 'my-cascade');
    assert.equal(listed.length, 1, 'listed once');
    assert.equal(listed[0].origin, 'user');
    assert.equal(listed[0].io, 'cascade');
    assert.equal(listed[0].problem, undefined, String(listed[0].problem));
    assert.deepEqual((listed[0].cascade as { stages: unknown }).stages, src.cascade.stages);

    const again = await cli(['models', 'import', file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /A model "my-cascade" is already installed; remove it first \(stemdeck models remove my-cascade\)\./);
    const bundledId = await cli(['models', 'import', file, '--id', 'mstfa-small-v1']);
    assert.equal(bundledId.code, 1);
    assert.match(bundledId.stderr, /A model "mstfa-small-v1" is already installed \(bundled with Stemdeck, it cannot be removed\); give the cascade another id\./);
    assert.deepEqual(await listTree(models), ['my-cascade/manifest.json']);

    const text = await cli(['models', 'import', file, '--id', 'my-cascade-2', '--name', 'Second']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Imported the cascade Second as "my-cascade-2" \(demucs-small-v1 \[vocals\] → bsrnn-small-v1 \[drums, bass, other\]\)/);

    for (const id of ['my-cascade', 'my-cascade-2']) {
      const rm = await cli(['models', 'remove', id]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    assert.ok(!(await list()).some((m) => m.id.startsWith('my-cascade')));
    assert.deepEqual(await listTree(models), []);
    assert.ok((await list()).some((m) => m.id === 'demucs-small-v1'), 'its bundled stage models stay');
  });

  it('refuses a cascade whose stage model is missing or lacks a kept stem, and an invalid manifest; nothing is installed', async () => {
    const before = await listTree(models);
    const missing = await cli(['models', 'import', await writeJson('missing.json', cascade('missing-stage', 'demucs-small-v1', 'no-such-model'))]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^stemdeck: Model "missing-stage" is a cascade whose stage 2, "no-such-model", is not installed\. Install or import the model "no-such-model"/m);

    const lacking = await cli(['models', 'import', await writeJson('lacking.json', cascade('lacking-stem', 'demucs-small-v1', 'bsrnn-small-v1', ['drums', 'guitar', 'other']))]);
    assert.equal(lacking.code, 1);
    assert.match(lacking.stderr, /stage 2 "bsrnn-small-v1" has no stem "guitar"/);

    const bad = { ...cascade('bad-stems', 'demucs-small-v1'), stems: ['drums', 'vocals', 'bass', 'other'] };
    const invalid = await cli(['models', 'import', await writeJson('bad.json', bad), '--json']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /bad\.json is not a valid cascade manifest \(stems: a cascade's stems are its stages' kept stems in order/);
    assert.equal((JSON.parse(invalid.stdout.trim()) as { error: string }).error, 'model-contract');

    const notCascade = await cli(['models', 'import', await writeJson('onnx-manifest.json', { ...cascade('x', 'demucs-small-v1'), io: 'waveform' })]);
    assert.equal(notCascade.code, 1);
    assert.match(notCascade.stderr, /onnx-manifest\.json is not a cascade manifest \("io" is "waveform"\)/);

    assert.deepEqual(await listTree(models), before);
    const ids = (await list()).map((m) => m.id);
    for (const id of ['missing-stage', 'lacking-stem', 'bad-stems', 'x']) assert.ok(!ids.includes(id), id);
  });

  it('removing a stage model of an installed cascade is refused naming the cascade; --force removes it with a warning', async () => {
    const before = await listTree(models);
    const imp = await cli(['models', 'import', path.join(FIX, 'contract-htdemucs.onnx'), '--id', 'user-demucs']);
    assert.equal(imp.code, 0, imp.stderr);
    const c = await cli(['models', 'import', await writeJson('uses-user.json', cascade('uses-user', 'user-demucs'))]);
    assert.equal(c.code, 0, c.stderr);

    const refused = await cli(['models', 'remove', 'user-demucs']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /Model "user-demucs" is a stage of the cascade "uses-user"; remove the cascade first \(stemdeck models remove uses-user\), or remove "user-demucs" anyway with `stemdeck models remove user-demucs --force`/,
    );
    assert.ok((await list()).some((m) => m.id === 'user-demucs'), 'still installed');

    const forced = await cli(['models', 'remove', 'user-demucs', '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /warning: the cascade "uses-user" cannot run until "user-demucs" is installed again/);
    assert.deepEqual((JSON.parse(forced.stdout.trim()) as { stageOf: string[] }).stageOf, ['uses-user']);
    const after = await list();
    assert.ok(!after.some((m) => m.id === 'user-demucs'));
    assert.match(String(after.find((m) => m.id === 'uses-user')?.problem), /stage 1, "user-demucs", is not installed/);

    const rm = await cli(['models', 'remove', 'uses-user']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(await listTree(models), before);
  });
});
