/**
 * Identity models (one per io family, from training/export_identity.py in test/fixtures/models/):
 * decode → segments → model → overlap-add → write must give back the input within −60 dB,
 * at segment boundaries too, for odd lengths and files shorter than one segment.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { separateFile, writeAudio, decodeAll, readManifest, segmentStride } from '../../src-main/engine/index.js';
import { errorDb, fixtureModel, isolateHome, listFiles, tempDir, testSignal } from './helpers.js';

const families = ['identity-waveform', 'identity-complex', 'identity-magnitude'];
const lengths = [100_001, 12_345, 44_100, 77_175];
let dir = '';
const inputs = new Map<number, string>();

before(async () => {
  isolateHome();
  dir = tempDir();
  for (const n of lengths) {
    const f = path.join(dir, `in-${n}.wav`);
    await writeAudio(f, testSignal(n, 44100, n), 44100, 'wav');
    inputs.set(n, f);
  }
});

for (const id of families) {
  test(`identity pipeline: ${id}`, async () => {
    const manifest = readManifest(fixtureModel(id));
    if (manifest.io === 'cascade') throw new Error('an identity fixture is a single model');
    const N = manifest.segment.samples;
    const stride = segmentStride(N, manifest.segment.overlap);
    for (const n of lengths) {
      const outDir = path.join(dir, `${id}-${n}`);
      const fractions: number[] = [];
      const r = await separateFile({
        input: inputs.get(n)!,
        outDir,
        model: fixtureModel(id),
        format: 'wav',
        residual: false,
        onProgress: (p) => fractions.push(p.fraction),
      });
      assert.equal(r.frames, n);
      assert.deepEqual(Object.keys(r.outputs).sort(), ['other', 'vocals']);
      assert.deepEqual(listFiles(outDir), ['other.wav', 'vocals.wav'], 'only finished stems in the out dir');
      assert.ok(r.inferenceSeconds > 0 && r.inferenceSeconds <= r.seconds);
      assert.ok(fractions.length > 1 && fractions.every((f) => f >= 0 && f <= 1));
      const x = testSignal(n, 44100, n);
      for (const stem of ['vocals', 'other']) {
        const y = await decodeAll(r.outputs[stem], { sampleRate: 44100, channels: 2 });
        assert.equal(y[0].length, n, `${id} ${stem}: length`);
        const overall = errorDb(x, y);
        assert.ok(overall < -60, `${id} n=${n} ${stem}: overall error ${overall.toFixed(1)} dB`);
        // every segment boundary (start and end of each segment's window), ±1024 samples
        for (let start = 0; start < n; start += stride) {
          for (const b of [start, start + N]) {
            if (b <= 0 || b >= n) continue;
            const e = errorDb(x, y, Math.max(0, b - 1024), Math.min(n, b + 1024));
            assert.ok(e < -60, `${id} n=${n} ${stem}: error ${e.toFixed(1)} dB at boundary ${b}`);
          }
        }
        if (n === lengths[0] && stem === 'vocals') console.log(`# ${id}: overall ${overall.toFixed(1)} dB, rtf ${r.realtimeFactor.toFixed(1)}×`);
      }
    }
  });
}

test('residual stem: stems sum to the mixture', async () => {
  const n = lengths[0];
  const r = await separateFile({ input: inputs.get(n)!, outDir: path.join(dir, 'residual'), model: fixtureModel('identity-complex'), residual: true });
  const x = testSignal(n, 44100, n);
  const v = await decodeAll(r.outputs.vocals, { sampleRate: 44100, channels: 2 });
  const o = await decodeAll(r.outputs.other, { sampleRate: 44100, channels: 2 });
  const sum = v.map((ch, c) => ch.map((s, i) => s + o[c][i]));
  const e = errorDb(x, sum);
  assert.ok(e < -60, `sum error ${e.toFixed(1)} dB`);
  // identity: other = mixture − vocals ≈ 0
  let p = 0;
  for (const ch of o) for (const s of ch) p += s * s;
  assert.ok(p < 1e-6 * n, `residual should be ~silent, energy ${p}`);
});

test('output formats: wav16, wav24, flac, flac16, mp3, mp3-v0 decode back to the input length', async () => {
  const n = 12_345;
  const x = testSignal(n, 44100, n);
  for (const [format, ext, maxDb] of [
    ['wav16', 'wav', -60],
    ['wav24', 'wav', -90],
    ['flac', 'flac', -90],
    ['flac16', 'flac', -60],
    ['mp3', 'mp3', -10],
    ['mp3-v0', 'mp3', -10],
  ] as const) {
    const outDir = path.join(dir, `fmt-${format}`);
    const r = await separateFile({ input: inputs.get(n)!, outDir, model: fixtureModel('identity-waveform'), format, stems: ['vocals'], residual: false });
    assert.deepEqual(listFiles(outDir), [`vocals.${ext}`]);
    const y = await decodeAll(r.outputs.vocals, { sampleRate: 44100, channels: 2 });
    if (ext !== 'mp3') {
      assert.equal(y[0].length, n, `${format} length`);
      const e = errorDb(x, y);
      assert.ok(e < maxDb, `${format}: error ${e.toFixed(1)} dB`);
    } else assert.ok(Math.abs(y[0].length - n) < 2000, `${format}: length ${y[0].length}`);
  }
});
