/**
 * Ratio-mask refinement of waveform stems (src-main/engine/refine.ts, manifest `refine`):
 * refined stems sum to the mixture, clean estimates stay clean, energy the mixture does not have is
 * removed, and the pipeline applies it from the manifest.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fftReady } from '../../src-main/engine/fft.js';
import { RatioMaskRefiner } from '../../src-main/engine/refine.js';
import { ModelManifestSchema } from '../../src-main/engine/manifest.js';
import { decodeAll, readManifest, separateFile, writeAudio } from '../../src-main/engine/index.js';
import { errorDb, fixtureModel, isolateHome, tempDir, testSignal } from './helpers.js';

const N = 44_100; // one 1-s segment, 2 channels
const params = { method: 'ratio-mask', nFft: 4096, hop: 2048 } as const;

/** [2][n] sine at f Hz (amplitude a), a different phase per channel. */
function sine(f: number, a: number, n = N): Float32Array[] {
  return [0, 1].map((c) => Float32Array.from({ length: n }, (_, i) => a * Math.sin((2 * Math.PI * f * i) / 44100 + c)));
}
const add = (x: Float32Array[], y: Float32Array[], g = 1): Float32Array[] => x.map((ch, c) => ch.map((v, i) => v + g * y[c][i]));
const scale = (x: Float32Array[], g: number): Float32Array[] => x.map((ch) => ch.map((v) => v * g));
/** Error in dB away from the first and last nFft samples (reflect-padded STFT edges). */
const inner = (a: Float32Array[], b: Float32Array[]) => errorDb(a, b, params.nFft, N - params.nFft);

before(async () => {
  await fftReady;
});

test('refined stems sum to the mixture', () => {
  const mix = testSignal(N);
  // rough, overlapping estimates that do not sum to the mixture
  const est = [scale(mix, 0.7), add(sine(220, 0.2), mix, 0.1), scale(testSignal(N, 44100, 99), 0.5)];
  const out = new RatioMaskRefiner(params).apply(mix, est);
  assert.equal(out.length, 3);
  const sum = out.reduce((acc, s) => add(acc, s));
  const e = errorDb(mix, sum);
  assert.ok(e < -80, `Σ refined vs mixture: ${e.toFixed(1)} dB`);
  for (const s of out) for (const ch of s) assert.equal(ch.length, N);
});

test('exact estimates of sources in different bands stay exact', () => {
  const low = sine(110, 0.4);
  const high = sine(4000, 0.2);
  const out = new RatioMaskRefiner(params).apply(add(low, high), [low, high]);
  assert.ok(inner(low, out[0]) < -40, `low: ${inner(low, out[0]).toFixed(1)} dB`);
  assert.ok(inner(high, out[1]) < -40, `high: ${inner(high, out[1]).toFixed(1)} dB`);
});

test('energy the mixture lacks is removed and an under-estimated source restored', () => {
  const low = sine(110, 0.4);
  const high = sine(4000, 0.2);
  // stem 0 carries an artefact at 7 kHz that is not in the mixture; stem 1 is 6 dB too quiet
  const est = [add(low, sine(7000, 0.1)), scale(high, 0.5)];
  const out = new RatioMaskRefiner(params).apply(add(low, high), est);
  const before = [inner(low, est[0]), inner(high, est[1])];
  const after = [inner(low, out[0]), inner(high, out[1])];
  assert.ok(after[0] < before[0] - 20, `stem 0 error ${before[0].toFixed(1)} → ${after[0].toFixed(1)} dB`);
  assert.ok(after[1] < before[1] - 20, `stem 1 error ${before[1].toFixed(1)} → ${after[1].toFixed(1)} dB`);
});

test('silent estimates split the mixture evenly instead of dividing by zero', () => {
  const mix = testSignal(N);
  const zero = [new Float32Array(N), new Float32Array(N)];
  const out = new RatioMaskRefiner(params).apply(mix, [zero, zero]);
  for (const s of out) assert.ok(errorDb(scale(mix, 0.5), s) < -80);
});

test('manifest: refine only for waveform models, with hop ≤ nFft < segment', () => {
  const base = readManifest(fixtureModel('identity-waveform'));
  assert.ok(ModelManifestSchema.safeParse({ ...base, refine: params }).success);
  assert.ok(!ModelManifestSchema.safeParse({ ...base, refine: { ...params, hop: 8192 } }).success);
  assert.ok(!ModelManifestSchema.safeParse({ ...base, refine: { ...params, nFft: 65536 } }).success);
  const complex = readManifest(fixtureModel('identity-complex'));
  const r = ModelManifestSchema.safeParse({ ...complex, refine: params });
  assert.ok(!r.success && /waveform/.test(r.error.message));
});

test('pipeline: a waveform model with refine gives stems that split the mixture', async () => {
  isolateHome();
  const dir = tempDir();
  // the identity-waveform fixture (every stem = the input) with refine added to its manifest
  const src = path.dirname(fixtureModel('identity-waveform'));
  const mdir = path.join(dir, 'model');
  fs.mkdirSync(mdir);
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(mdir, f));
  const manifest = { ...JSON.parse(fs.readFileSync(path.join(src, 'manifest.json'), 'utf8')), refine: params };
  fs.writeFileSync(path.join(mdir, 'manifest.json'), JSON.stringify(manifest));
  const n = 100_001;
  const input = path.join(dir, 'in.wav');
  const x = testSignal(n, 44100, 3);
  await writeAudio(input, x, 44100, 'wav');
  const r = await separateFile({ input, outDir: path.join(dir, 'out'), model: path.join(mdir, 'manifest.json'), format: 'wav', residual: false });
  // equal estimates → every mask is 1/2: each stem is half the mixture, also across segment boundaries
  for (const stem of ['vocals', 'other']) {
    const y = await decodeAll(r.outputs[stem], { sampleRate: 44100, channels: 2 });
    const e = errorDb(scale(x, 0.5), y);
    assert.ok(e < -60, `${stem}: ${e.toFixed(1)} dB from half the mixture`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
