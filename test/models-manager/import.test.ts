import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isStemdeckError } from '../../src-main/engine/errors.js';
import { ModelManifestSchema } from '../../src-main/engine/manifest.js';
import { loadCatalogue, manifestForEntry, type Catalogue } from '../../src-main/engine/models/catalogue.js';
import { uvrModelHash } from '../../src-main/engine/models/download.js';
import { detectContract, importModel, inspectOnnx } from '../../src-main/engine/models/import.js';
import { listCatalogue, listUserModels, removeModel } from '../../src-main/engine/models/manager.js';
import { listTree, sha256, tempDir } from './helpers.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const HT = path.join(FIX, 'contract-htdemucs.onnx');
const MDX = path.join(FIX, 'contract-mdx.onnx');
const BAD = path.join(FIX, 'contract-bad.onnx');
let home: string;
let models: string;

before(async () => {
  home = await tempDir('import');
  process.env.STEMDECK_HOME = home;
  models = path.join(home, 'models');
});
after(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

const code = (e: unknown): string => (isStemdeckError(e) ? e.code : String(e));

describe('model import', () => {
  it('reads tensor names and shapes from the ONNX file', async () => {
    const io = await inspectOnnx(MDX);
    assert.deepEqual(io.inputs, [{ name: 'input', type: 'float32', shape: ['batch_size', 4, 2048, 256] }]);
    assert.deepEqual(io.outputs, [{ name: 'output', type: 'float32', shape: ['batch_size', 4, 2048, 256] }]);
  });

  it('imports an HTDemucs-shaped file: contract detected from its shapes', async () => {
    const r = await importModel(HT, { modelsDir: models });
    assert.equal(r.id, 'contract-htdemucs');
    assert.equal(r.detectedBy, 'shapes');
    const m = ModelManifestSchema.parse(JSON.parse(await fs.readFile(path.join(r.dir, 'manifest.json'), 'utf8')));
    assert.equal(m.io, 'htdemucs');
    assert.deepEqual(m.stems, ['drums', 'bass', 'other', 'vocals']);
    assert.deepEqual(m.segment, { samples: 343980, overlap: 0.25 });
    assert.equal(m.normalize, 'mixture-std');
    assert.deepEqual(m.tensors, { input: 'input', output: 'output' });
    assert.equal(m.files[0].sha256, sha256(await fs.readFile(HT)));
    await fs.access(HT); // the user's file stays where it was
  });

  it('imports an MDX-Net-shaped file with user parameters', async () => {
    const r = await importModel(MDX, { modelsDir: models, params: { id: 'my-mdx', nFft: 6144, compensate: 1.035, primary: 'vocals' } });
    assert.equal(r.detectedBy, 'shapes+params');
    assert.deepEqual(r.manifest.mdx, { nFft: 6144, dimF: 2048, dimT: 256, compensate: 1.035, primary: 'vocals', secondary: 'instrumental' });
    assert.deepEqual(r.manifest.stems, ['vocals', 'instrumental']);
    assert.equal(r.manifest.segment.samples, 261120);
    assert.ok(Math.round(r.manifest.segment.overlap * 261120) >= 3 * 6144);
  });

  it('asks for n_fft when an MDX-Net-shaped file is not in UVR\'s table', async () => {
    await assert.rejects(importModel(MDX, { modelsDir: models, params: { id: 'no-params' } }), (e) => code(e) === 'model-contract' && /--n-fft/.test((e as Error).message));
    assert.deepEqual(await listTree(path.join(models, 'no-params')), []);
  });

  it('recognises a UVR file by UVR\'s hash (md5 of the last 10,000 KiB) and sets its parameters', async () => {
    const hash = await uvrModelHash(MDX);
    const { createHash } = await import('node:crypto');
    assert.equal(hash, createHash('md5').update(await fs.readFile(MDX)).digest('hex'), 'small files: md5 of the whole file, like UVR');
    const base = loadCatalogue();
    const catalogue: Catalogue = {
      ...base,
      uvrMdxParameters: { rows: { [hash]: { nFft: 6144, dimF: 2048, dimT: 256, compensate: 1.035, primaryStem: 'Vocals', isKaraoke: true } } },
    };
    const r = await importModel(MDX, { modelsDir: models, params: { id: 'uvr-kara-like' }, catalogue });
    assert.equal(r.detectedBy, 'uvr-hash');
    assert.deepEqual(r.manifest.mdx, { nFft: 6144, dimF: 2048, dimT: 256, compensate: 1.035, primary: 'lead_vocals', secondary: 'karaoke' });
  });

  it('computes UVR\'s hash over the last 10,000 KiB of a large file', async () => {
    const big = Buffer.alloc(10000 * 1024 + 4096, 7);
    big.fill(1, 0, 4096); // the first 4 KiB must not count
    const f = path.join(home, 'big.onnx');
    await fs.writeFile(f, big);
    const { createHash } = await import('node:crypto');
    assert.equal(await uvrModelHash(f), createHash('md5').update(big.subarray(4096)).digest('hex'));
  });

  it('knows the real catalogue entries\' UVR parameters from UVR\'s table', () => {
    const c = loadCatalogue();
    for (const m of c.models) {
      assert.match(m.url, /^https:\/\//, m.id);
      assert.ok(m.terms.length > 20 && Object.keys(m.provenance).length >= 3, m.id);
      ModelManifestSchema.parse(manifestForEntry(m)); // every entry builds a valid manifest
    }
    const ht = c.models.find((m) => m.id === 'htdemucs-v4-mixxx')!;
    assert.equal(ht.url, 'https://github.com/mixxxdj/demucs/releases/download/v4.0.1-19-gd182d42-onnxmodel/htdemucs.onnx');
    assert.equal(ht.contract.normalize, 'mixture-std');
    assert.ok(c.models.some((m) => m.stems.includes('vocals') && m.contract.mdx?.primary === 'vocals'), 'a vocals model');
    assert.ok(c.models.some((m) => m.contract.mdx?.primary === 'instrumental'), 'an instrumental model');
    assert.ok(c.models.some((m) => m.stems.includes('karaoke')), 'a karaoke model');
    for (const m of c.models.filter((x) => x.uvrHash)) {
      const row = c.uvrMdxParameters.rows[m.uvrHash!];
      assert.ok(row, m.id);
      assert.equal(row.nFft, m.contract.mdx!.nFft, m.id);
      assert.equal(row.dimF, m.contract.mdx!.dimF, m.id);
      assert.equal(row.dimT, m.contract.mdx!.dimT, m.id);
      assert.equal(row.compensate, m.contract.mdx!.compensate, m.id);
      const d = detectContract('x.onnx', {
        inputs: [{ name: 'input', type: 'float32', shape: ['batch', 4, row.dimF, row.dimT] }],
        outputs: [{ name: 'output', type: 'float32', shape: ['batch', 4, row.dimF, row.dimT] }],
      }, {}, row);
      assert.deepEqual(d.contract.mdx, m.contract.mdx, m.id);
      assert.deepEqual(d.contract.stems, m.stems, m.id);
    }
  });

  it('refuses an incompatible file with the reason', async () => {
    await assert.rejects(
      importModel(BAD, { modelsDir: models }),
      (e) => code(e) === 'model-contract' && /match no contract/.test((e as Error).message) && /x float32 \[1, 3, 1000\]/.test((e as Error).message),
    );
    assert.deepEqual(await listTree(path.join(models, 'contract-bad')), []);
  });

  it('refuses a file that is not ONNX at all', async () => {
    const f = path.join(home, 'garbage.onnx');
    await fs.writeFile(f, 'this is not a model');
    await assert.rejects(importModel(f, { modelsDir: models }), (e) => code(e) === 'model-corrupt');
  });

  it('refuses when the disk is full (simulated) and installs nothing', async () => {
    await assert.rejects(
      importModel(HT, { modelsDir: models, params: { id: 'full-disk' }, freeSpace: async () => 1000 }),
      (e) => code(e) === 'disk-full',
    );
    assert.deepEqual(await listTree(path.join(models, 'full-disk')), []);
  });

  it('lists, then removes imported models; the catalogue shows url, sha256, bytes, licence, installed', async () => {
    const user = await listUserModels(models);
    assert.ok(user.some((m) => m.id === 'contract-htdemucs'));
    const cat = await listCatalogue(models);
    const ht = cat.find((m) => m.id === 'htdemucs-v4-mixxx');
    assert.ok(ht);
    assert.equal(ht.bytes, 304413278);
    assert.equal(ht.sha256, 'db37d1314ac1e1051e7978d25ef45b3f1d3f43c837678752f592c0f2deca752d');
    assert.equal(ht.installed, false);
    assert.ok(ht.url.startsWith('https://github.com/mixxxdj/demucs/releases/download/v4.0.1-19-gd182d42-onnxmodel/'));
    assert.ok(cat.filter((m) => m.architecture === 'mdx-net').length >= 3);
    const r = await removeModel('contract-htdemucs', models);
    assert.equal(r.removed.length, 1);
    assert.ok(!(await listUserModels(models)).some((m) => m.id === 'contract-htdemucs'));
    await assert.rejects(removeModel('contract-htdemucs', models), (e) => code(e) === 'model-unknown');
  });
});
