/**
 * Through the app: models imported with the API ('models.import'), listed by 'models.list', then a
 * song separated by the app's engine host with each third-party contract (HTDemucs, MDX-Net),
 * exactly as the Models page and the library do it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDispatcher } from '../../src-main/api/contract.js';
import { App } from '../../src-main/host/app.js';
import { isolatedHome, makeSong, tempDir, waitJobEnd } from '../app/helpers.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const ctx = { shell: 'browser' as const };
let app: App;
let media: string;
let call: (method: string, params: unknown) => Promise<unknown>;

before(async () => {
  isolatedHome();
  media = tempDir('stemdeck-m1-media-');
  app = new App({ shell: 'browser', cancelGraceMs: 3000 });
  await app.start();
  const d = createDispatcher(app.handlers());
  call = async (method, params) => {
    const r = await d.dispatch(method, params, ctx);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    return r.result;
  };
});

after(async () => {
  await app.stop();
});

describe('model manager through the app', () => {
  it('imports the HTDemucs- and MDX-Net-contract models and separates a song with each', async () => {
    for (const f of ['contract-htdemucs.onnx', 'contract-mdx.onnx']) app.guard.choose(path.join(FIX, f)); // the user picked them
    const ht = (await call('models.import', { path: path.join(FIX, 'contract-htdemucs.onnx'), params: { id: 'app-htdemucs' } })) as { ok: boolean };
    assert.equal(ht.ok, true);
    const mdx = (await call('models.import', {
      path: path.join(FIX, 'contract-mdx.onnx'),
      params: { id: 'app-mdx', nFft: 6144, compensate: 1.035, primary: 'vocals' },
    })) as { ok: boolean };
    assert.equal(mdx.ok, true);
    const models = (await call('models.list', {})) as Array<{ id: string; io: string; origin: string }>;
    assert.equal(models.find((m) => m.id === 'app-htdemucs')?.io, 'htdemucs');
    assert.equal(models.find((m) => m.id === 'app-mdx')?.io, 'mdx-net');

    for (const [model, stems] of [
      ['app-htdemucs', ['drums', 'bass', 'other', 'vocals']],
      ['app-mdx', ['vocals', 'instrumental']],
    ] as const) {
      const song = makeSong(path.join(media, `${model}.wav`), 9, `Song for ${model}`);
      app.guard.choose(song);
      const r = (await call('files.open', { paths: [song], settings: { model } })) as { jobs: Array<{ id: string }> };
      assert.equal(r.jobs.length, 1);
      const job = await waitJobEnd(app, r.jobs[0].id, 120_000);
      assert.equal(job.status, 'done', JSON.stringify(job.error));
      const s = app.library.get(job.songId!);
      assert.deepEqual(s.stems.map((x) => x.name), [...stems]);
      for (const st of s.stems) assert.ok(fs.statSync(path.join(app.library.songDir(s.id), st.file)).size > 9 * 44100 * 2);
    }
    assert.deepEqual(await call('models.remove', { id: 'app-mdx' }), { ok: true });
  });

  it("removing a model releases the engine host's ONNX Runtime session of it", async () => {
    // Before: the app's model manager released only its own process's sessions, so the engine host
    // kept the removed model's session resident until it restarted.
    const onnx = path.join(FIX, 'contract-mdx.onnx');
    app.guard.choose(onnx);
    const imported = (await call('models.import', { path: onnx, params: { id: 'app-release', nFft: 6144, compensate: 1.035, primary: 'vocals' } })) as { ok: boolean };
    assert.equal(imported.ok, true);
    const song = makeSong(path.join(media, 'release.wav'), 9, 'Song for release');
    app.guard.choose(song);
    const r = (await call('files.open', { paths: [song], settings: { model: 'app-release' } })) as { jobs: Array<{ id: string }> };
    const job = await waitJobEnd(app, r.jobs[0].id, 120_000);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    const ours = (resident: string[] | null): string[] => (resident ?? ['no answer']).filter((f) => f.includes(`${path.sep}app-release${path.sep}`) || f === 'no answer');
    const before = await app.host.releaseSessions([]); // [] only asks
    assert.equal(ours(before).length, 1, `the job left its session cached in the engine host: ${JSON.stringify(before)}`);
    assert.deepEqual(await call('models.remove', { id: 'app-release' }), { ok: true });
    assert.deepEqual(ours(await app.host.releaseSessions([])), [], 'the removed model has no session in the engine host');
  });

  it('imports a cascade manifest (.json) of bundled models, lists it once and removes it', async () => {
    const file = path.join(media, 'app-cascade.json');
    const stages = [
      { model: 'demucs-small-v1', keep: ['vocals'] },
      { model: 'bsrnn-small-v1', keep: ['drums', 'bass', 'other'] },
    ];
    fs.writeFileSync(
      file,
      JSON.stringify({ id: 'app-cascade', name: 'App cascade', architecture: 'cascade', io: 'cascade', sampleRate: 44100, channels: 2,
        stems: ['vocals', 'drums', 'bass', 'other'], residual: 'other', cascade: { stages }, trained: true, params: 0, license: 'test', source: 'test' }),
    );
    app.guard.choose(file);
    const r = (await call('models.import', { path: file })) as { ok: boolean; model?: { id: string; io: string; stages?: Array<{ model: string; name: string | null }> } };
    assert.equal(r.ok, true);
    assert.equal(r.model?.io, 'cascade');
    assert.deepEqual(r.model?.stages?.map((s) => s.model), ['demucs-small-v1', 'bsrnn-small-v1']);
    assert.ok(r.model?.stages?.every((s) => s.name), 'stage names resolved');
    const listed = ((await call('models.list', {})) as Array<{ id: string; io: string; origin: string; problem?: string }>).filter((m) => m.id === 'app-cascade');
    assert.equal(listed.length, 1);
    assert.equal(listed[0].origin, 'user');
    assert.equal(listed[0].problem, undefined);
    await assert.rejects(call('models.import', { path: file }), /A model "app-cascade" is already installed; remove it first/);
    assert.deepEqual(await call('models.remove', { id: 'app-cascade' }), { ok: true });
    assert.ok(!((await call('models.list', {})) as Array<{ id: string }>).some((m) => m.id === 'app-cascade'));
  });
});
