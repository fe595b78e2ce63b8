// Every bundled model (resources/models/<id>/) runs in onnxruntime-node and matches the
// PyTorch output stored by training/export.py (parity.json + parity.bin) within 1e-4 relative.
// The input is regenerated here with the same 32-bit LCG (see training/common/parity.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxModelManifestSchema } from '../../src-main/engine/manifest.js';

const modelsDir = path.resolve(import.meta.dirname, '..', '..', 'resources', 'models');

interface Parity {
  input: { name: string; shape: number[]; generator: 'lcg32'; seed: number; amplitude: number };
  output: { name: string; shape: number[]; stride: number; count: number; file: string; maxAbs: number };
  tolerance: { relative: number };
}

/** s ← (1664525·s + 1013904223) mod 2³²; x = ((s >>> 8) / 2²³ − 1) · amplitude (exact in float32). */
function lcgInput(n: number, seed: number, amplitude: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(1664525, s) + 1013904223) >>> 0;
    x[i] = ((s >>> 8) / 8388608 - 1) * amplitude;
  }
  return x;
}

/** Our own bundled models stay ≤ 12 MB; Deezer's Spleeter ships its original fp32 weights (both U-Nets, or the vocals one). */
// Spleeter-sized U-Nets (Deezer's weights, or the SC U-Net transferred from them) are 9.8 M parameters per net in fp32.
const SIZE_LIMIT_BYTES: Record<string, number> = {
  'spleeter-2stems': 80 * 1024 * 1024,
  'spleeter-vocals': 40 * 1024 * 1024,
  'scunet-spleeter-v1': 40 * 1024 * 1024,
};

const ids = existsSync(modelsDir)
  ? readdirSync(modelsDir).filter((d) => existsSync(path.join(modelsDir, d, 'parity.json')))
  : [];

test('the bundled models folder has an index.json whose default is a bundled model', () => {
  const index = JSON.parse(readFileSync(path.join(modelsDir, 'index.json'), 'utf8')) as { default: string };
  // any bundled model folder, a cascade (manifest only) included
  assert.ok(existsSync(path.join(modelsDir, index.default, 'manifest.json')), `default ${index.default} is bundled`);
});

test('the LCG matches the Python generator', () => {
  // first values for seed 12345, amplitude 0.5 (computed by training/common/parity.py)
  const x = lcgInput(2, 12345, 0.5);
  assert.ok(Math.abs(x[0] - -0.47959733) < 1e-7 && Math.abs(x[1] - -0.4834522) < 1e-7);
});

for (const id of ids) {
  test(`${id}: manifest valid, file hash matches, ONNX output matches PyTorch`, async () => {
    const dir = path.join(modelsDir, id);
    const m = OnnxModelManifestSchema.parse(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
    assert.equal(m.id, id);
    const file = path.join(dir, m.files[0].path);
    const bytes = readFileSync(file);
    assert.equal(bytes.length, m.files[0].bytes, 'bytes');
    const limit = SIZE_LIMIT_BYTES[id] ?? 12 * 1024 * 1024;
    assert.ok(bytes.length <= limit, `bundled ONNX ≤ ${limit / 1024 / 1024} MB`);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), m.files[0].sha256, 'sha256');

    const p = JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as Parity;
    assert.equal(p.input.name, m.tensors.input);
    assert.equal(p.output.name, m.tensors.output);
    // The input shape follows the io family's layout from the manifest.
    const frames = m.stft ? Math.floor(m.segment.samples / m.stft.hop) + 1 : 0;
    const expectShape =
      m.io === 'waveform'
        ? [1, m.channels, m.segment.samples]
        : [1, m.io === 'complex-spectrogram' ? 2 * m.channels : m.channels, m.stft!.bins, frames];
    assert.deepEqual(p.input.shape, expectShape);
    assert.deepEqual(p.output.shape, [1, m.stems.length, ...expectShape.slice(1)]);

    const n = p.input.shape.reduce((a, b) => a * b, 1);
    const x = lcgInput(n, p.input.seed, p.input.amplitude);
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
    const out = await session.run({ [m.tensors.input]: new ort.Tensor('float32', x, p.input.shape) });
    const y = out[m.tensors.output];
    assert.deepEqual(y.dims, p.output.shape);
    const data = y.data as Float32Array;
    const buf = readFileSync(path.join(dir, p.output.file));
    const ref = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    assert.equal(ref.length, p.output.count);
    let maxRef = 0;
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) {
      const a = data[i * p.output.stride];
      assert.ok(Number.isFinite(a), 'finite output');
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
      maxDiff = Math.max(maxDiff, Math.abs(a - ref[i]));
    }
    assert.ok(maxRef > 0, 'the reference output is not all zeros');
    assert.ok(maxDiff <= p.tolerance.relative * maxRef, `max diff ${maxDiff} vs max ${maxRef}`);

    // Dynamic batch: item 0 of a batch of two equals the batch-of-one output.
    const x2 = new Float32Array(2 * n);
    x2.set(x);
    x2.set(lcgInput(n, p.input.seed + 1, p.input.amplitude), n);
    const out2 = await session.run({ [m.tensors.input]: new ort.Tensor('float32', x2, [2, ...p.input.shape.slice(1)]) });
    const y2 = out2[m.tensors.output];
    assert.deepEqual(y2.dims, [2, ...p.output.shape.slice(1)]);
    const d2 = y2.data as Float32Array;
    let batchDiff = 0;
    for (let i = 0; i < data.length; i += 7) batchDiff = Math.max(batchDiff, Math.abs(d2[i] - data[i]));
    assert.ok(batchDiff <= p.tolerance.relative * maxRef, `batch-2 item 0 differs by ${batchDiff}`);
    await session.release();
  });
}
