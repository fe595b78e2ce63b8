/** ONNX Runtime runners (in-thread here; the worker's in test/robustness/ort-worker.test.ts): providers report, cpu/auto fallback with a reason, threads, caching, corrupt files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { availableProviders, getRunner, StemdeckError } from '../../src-main/engine/index.js';
import { ort } from '../../src-main/engine/onnx.js';
import { fixtureModel, tempDir } from './helpers.js';

const onnxFile = path.join(path.dirname(fixtureModel('identity-waveform')), 'identity-waveform.onnx');

test('providers: CPU always available; the others say why not', () => {
  const p = availableProviders();
  assert.equal(p.find((x) => x.name === 'cpu')?.available, true);
  for (const name of ['cuda', 'dml', 'coreml'] as const) {
    const r = p.find((x) => x.name === name);
    assert.ok(r && r.note.length > 0, name);
  }
});

test('sessions: cpu, auto (falls back with a logged reason when no GPU), cached, threads', async () => {
  const logs: string[] = [];
  const cpu = await getRunner(onnxFile, { device: 'cpu', threads: 1, worker: false, log: (m) => logs.push(m) });
  assert.equal(cpu.provider, 'cpu');
  assert.equal(cpu.fallbackReason, null);
  assert.equal(cpu.threads, 1);
  assert.equal(cpu.where, 'in-thread');
  assert.equal(await getRunner(onnxFile, { device: 'cpu', threads: 1, worker: false }), cpu, 'cached');
  const auto = await getRunner(onnxFile, { device: 'auto', threads: 1, worker: false, log: (m) => logs.push(m) });
  if (!availableProviders().some((p) => p.name !== 'cpu' && p.available)) {
    assert.equal(auto.provider, 'cpu');
    assert.match(auto.fallbackReason ?? '', /using CPU/);
    assert.equal(logs.length, 1);
  }
  const cuda = await getRunner(onnxFile, { device: 'cuda', threads: 2, worker: false, log: () => undefined });
  assert.ok(['cpu', 'cuda'].includes(cuda.provider));
  const x = new Float32Array(2 * 44100).map((_, i) => Math.sin(i));
  const out = await cpu.run({ mixture: new ort.Tensor('float32', x, [1, 2, 44100]) });
  assert.deepEqual(out.stems.dims, [1, 2, 2, 44100]);
});

test('a file that is not ONNX → model-corrupt', async () => {
  const f = path.join(tempDir(), 'bad.onnx');
  fs.writeFileSync(f, 'definitely not protobuf');
  await assert.rejects(getRunner(f, { device: 'cpu', worker: false }), (e: unknown) => e instanceof StemdeckError && e.code === 'model-corrupt');
});
