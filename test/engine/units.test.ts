/** Unit tests: segmenter/overlap-add, WAV writer headers and atomic writes, magnitude-mask Wiener refinement. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Segmenter, OverlapAdd, crossfadeWindow, segmentStride, writeAudio, separateFile, decodeAll } from '../../src-main/engine/index.js';
import { errorDb, fixtureModel, isolateHome, listFiles, tempDir, testSignal } from './helpers.js';

test('segmenter + overlap-add reconstruct any length exactly, streamed in odd chunk sizes', () => {
  for (const [N, overlap, total] of [
    [10, 0.3, 25],
    [10, 0.3, 10],
    [10, 0.3, 17],
    [10, 0.3, 3],
    [64, 0.25, 1000],
    [64, 0, 129],
    [7, 0.5, 50],
  ] as const) {
    const stride = segmentStride(N, overlap);
    const x = Float32Array.from({ length: total }, (_, i) => Math.sin(i * 0.37) + 0.1 * i);
    const seg = new Segmenter(1, N, stride);
    const ola = new OverlapAdd(1, 1, N, stride, N - stride);
    const out: number[] = [];
    const segs: { start: number; data: Float32Array[] }[] = [];
    for (let o = 0; o < total; o += 3) segs.push(...seg.push([x.subarray(o, Math.min(total, o + 3))]));
    segs.push(...seg.flush());
    for (const s of segs) for (const v of ola.add(s.start, [s.data], total)[0][0]) out.push(v);
    for (const v of ola.finish(total)[0][0]) out.push(v);
    assert.equal(out.length, total, `N=${N} overlap=${overlap} total=${total}`);
    for (let i = 0; i < total; i++) assert.ok(Math.abs(out[i] - x[i]) < 1e-5, `N=${N} total=${total} i=${i}`);
    assert.ok(segs[segs.length - 1].start < total && segs[segs.length - 1].start + N >= total, 'last segment reaches the end, no extra one');
  }
  const w = crossfadeWindow(100, 25);
  assert.ok(w.every((v) => v > 0 && v <= 1));
});

test('WAV writer: headers for float/24/16 bit, atomic (no temp files), odd data padding', async () => {
  const dir = tempDir();
  const x = testSignal(1001);
  for (const [format, fmtTag, bits] of [
    ['wav', 3, 32],
    ['wav24', 1, 24],
    ['wav16', 1, 16],
  ] as const) {
    const f = path.join(dir, `${format}.wav`);
    await writeAudio(f, x, 48000, format);
    const b = fs.readFileSync(f);
    assert.equal(b.toString('ascii', 0, 4), 'RIFF');
    assert.equal(b.readUInt32LE(4), b.length - 8, 'RIFF size');
    assert.equal(b.toString('ascii', 8, 12), 'WAVE');
    assert.equal(b.readUInt16LE(20), fmtTag);
    assert.equal(b.readUInt16LE(22), 2);
    assert.equal(b.readUInt32LE(24), 48000);
    assert.equal(b.readUInt16LE(34), bits);
    const dataAt = b.indexOf('data');
    assert.equal(b.readUInt32LE(dataAt + 4), 1001 * 2 * (bits / 8));
    const y = await decodeAll(f, { sampleRate: 48000, channels: 2 });
    assert.equal(y[0].length, 1001);
    assert.ok(errorDb(x, y) < (bits === 16 ? -60 : -100), format);
  }
  assert.deepEqual(listFiles(dir), ['wav.wav', 'wav16.wav', 'wav24.wav']);
});

test('magnitude-mask with Wiener iterations: two identical stems each get half, and sum to the mixture', async () => {
  isolateHome();
  const dir = tempDir();
  const mdir = path.join(dir, 'wiener');
  fs.cpSync(path.dirname(fixtureModel('identity-magnitude')), mdir, { recursive: true });
  const m = JSON.parse(fs.readFileSync(path.join(mdir, 'manifest.json'), 'utf8'));
  m.id = 'identity-magnitude-wiener';
  m.magnitude = { output: 'mask', wienerIterations: 2 };
  fs.writeFileSync(path.join(mdir, 'manifest.json'), JSON.stringify(m));
  const input = path.join(dir, 'in.wav');
  const n = 50_001;
  const x = testSignal(n);
  await writeAudio(input, x, 44100, 'wav');
  const r = await separateFile({ input, outDir: path.join(dir, 'out'), model: path.join(mdir, 'manifest.json'), residual: false });
  const v = await decodeAll(r.outputs.vocals, { sampleRate: 44100, channels: 2 });
  const o = await decodeAll(r.outputs.other, { sampleRate: 44100, channels: 2 });
  const half = x.map((ch) => ch.map((s) => s / 2));
  assert.ok(errorDb(half, v) < -60, `vocals = mixture / 2: ${errorDb(half, v).toFixed(1)} dB`);
  assert.ok(errorDb(half, o) < -60, `other = mixture / 2: ${errorDb(half, o).toFixed(1)} dB`);
  const sum = v.map((ch, c) => ch.map((s, i) => s + o[c][i]));
  assert.ok(errorDb(x, sum) < -60, `vocals + other = mixture: ${errorDb(x, sum).toFixed(1)} dB`);
});

test('normalize "mixture-std": the engine normalises around the model and undoes it (identity stays identity)', async () => {
  isolateHome();
  const dir = tempDir();
  const mdir = path.join(dir, 'norm');
  fs.cpSync(path.dirname(fixtureModel('identity-waveform')), mdir, { recursive: true });
  const m = JSON.parse(fs.readFileSync(path.join(mdir, 'manifest.json'), 'utf8'));
  m.id = 'identity-waveform-norm';
  m.normalize = 'mixture-std';
  fs.writeFileSync(path.join(mdir, 'manifest.json'), JSON.stringify(m));
  const input = path.join(dir, 'in.wav');
  const n = 70_001;
  const x = testSignal(n).map((ch) => ch.map((v) => 0.3 + 0.5 * v)); // DC offset: mean ≠ 0
  await writeAudio(input, x, 44100, 'wav');
  const r = await separateFile({ input, outDir: path.join(dir, 'out'), model: path.join(mdir, 'manifest.json'), residual: false });
  const y = await decodeAll(r.outputs.other, { sampleRate: 44100, channels: 2 });
  assert.ok(errorDb(x, y) < -60, `${errorDb(x, y).toFixed(1)} dB`);
});
