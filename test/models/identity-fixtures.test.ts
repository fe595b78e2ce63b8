// The identity fixtures (training/export_identity.py): manifests validate, sha256/bytes match,
// and onnxruntime-node returns every stem equal to the input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxModelManifestSchema } from '../../src-main/engine/manifest.js';

const root = path.resolve(import.meta.dirname, '..', 'fixtures', 'models');

for (const id of ['identity-waveform', 'identity-complex', 'identity-magnitude']) {
  test(`${id}: manifest valid and every stem equals the input`, async () => {
    const dir = path.join(root, id);
    const m = OnnxModelManifestSchema.parse(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
    assert.equal(m.id, id);
    const file = path.join(dir, m.files[0].path);
    const bytes = readFileSync(file);
    assert.equal(bytes.length, m.files[0].bytes);
    assert.ok(statSync(file).size <= 200 * 1024);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), m.files[0].sha256);

    // Input shape per io family: [1, C, N] or [1, 2C, F, T] or [1, C, F, T].
    const frames = Math.floor(m.segment.samples / (m.stft?.hop ?? 1)) + 1;
    const shape =
      m.io === 'waveform'
        ? [1, m.channels, m.segment.samples]
        : [1, m.io === 'complex-spectrogram' ? 2 * m.channels : m.channels, m.stft!.bins, frames];
    const n = shape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.37) * (1 + (i % 7));
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ [m.tensors.input]: new ort.Tensor('float32', x, shape) });
    const y = out[m.tensors.output];
    assert.deepEqual(y.dims, [1, m.stems.length, ...shape.slice(1)]);
    const data = y.data as Float32Array;
    for (let s = 0; s < m.stems.length; s++) {
      const stem = data.subarray(s * n, (s + 1) * n);
      assert.deepEqual(stem, x, `stem ${m.stems[s]} equals the input`);
    }
    await session.release();
  });
}
