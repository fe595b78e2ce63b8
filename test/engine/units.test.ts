/** Unit tests: segmenter/overlap-add, WAV writer headers and atomic writes (a racing reader never sees a part), magnitude-mask Wiener refinement. */
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

/** Chunk id → [offset of its body, size field], walking the RIFF chunks up to 'data'. */
function wavChunks(b: Buffer): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (let o = 12; o + 8 <= b.length; ) {
    const id = b.toString('ascii', o, o + 4);
    const size = b.readUInt32LE(o + 4);
    out.set(id, [o + 8, size]);
    if (id === 'data') break;
    o += 8 + size + (size % 2);
  }
  return out;
}

test('WAV writer: headers for float/24/16 bit, odd data padding', async () => {
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
    const chunks = wavChunks(b);
    const [fmt] = chunks.get('fmt ')!;
    assert.equal(b.readUInt16LE(fmt), fmtTag);
    assert.equal(b.readUInt16LE(fmt + 2), 2);
    assert.equal(b.readUInt32LE(fmt + 4), 48000);
    assert.equal(b.readUInt16LE(fmt + 14), bits);
    const [dataAt, dataSize] = chunks.get('data')!;
    assert.equal(dataSize, 1001 * 2 * (bits / 8));
    assert.equal(b.length, dataAt + dataSize + (dataSize % 2), 'odd data is padded to an even size');
    const y = await decodeAll(f, { sampleRate: 48000, channels: 2 });
    assert.equal(y[0].length, 1001);
    assert.ok(errorDb(x, y) < (bits === 16 ? -60 : -100), format);
  }
  assert.deepEqual(listFiles(dir), ['wav.wav', 'wav16.wav', 'wav24.wav']);
});

test('WAV writer is atomic: a reader racing it sees the old file or the new one, never a part', async () => {
  // A reader polls the target while it is rewritten; every read must be byte-equal to the old or
  // the new file. The same reader on a plain in-place writer is the control: it must see a part.
  const dir = tempDir();
  const file = path.join(dir, 'stem.wav');
  const oldSignal = testSignal(200_000, 44100, 1);
  const newSignal = testSignal(400_000, 44100, 2);
  await writeAudio(path.join(dir, 'new.wav'), newSignal, 44100, 'wav');
  const newBytes = fs.readFileSync(path.join(dir, 'new.wav'));
  async function race(write: () => Promise<void>): Promise<{ reads: number; torn: number }> {
    await writeAudio(file, oldSignal, 44100, 'wav');
    const oldBytes = fs.readFileSync(file);
    let writing = true;
    let reads = 0;
    let torn = 0;
    const reader = (async () => {
      while (writing) {
        const b = await fs.promises.readFile(file).catch(() => null);
        if (b) {
          reads++;
          if (!b.equals(oldBytes) && !b.equals(newBytes)) torn++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await write();
    writing = false;
    await reader;
    assert.ok(fs.readFileSync(file).equals(newBytes), 'the new file in the end');
    return { reads, torn };
  }
  const atomic = await race(() => writeAudio(file, newSignal, 44100, 'wav'));
  assert.equal(atomic.torn, 0, `writeAudio: ${atomic.torn} of ${atomic.reads} reads saw a part of a file`);
  const control = await race(async () => {
    const fh = await fs.promises.open(file, 'w');
    for (let o = 0; o < newBytes.length; o += 65536) await fh.write(newBytes, o, Math.min(65536, newBytes.length - o), o);
    await fh.close();
  });
  assert.ok(control.torn > 0, `the check can fail: the in-place writer was seen part-written (${control.torn} of ${control.reads} reads)`);
  assert.deepEqual(listFiles(dir), ['new.wav', 'stem.wav'], 'no temp files left');
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
