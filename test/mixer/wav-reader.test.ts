/**
 * The renderer's streaming WAV reader (src-renderer/lib/wav.ts) reads the files the engine writes
 * (32-bit float, 24-bit, 16-bit PCM) exactly, from partial data (header first) and from whole files;
 * and the waveform peak columns (src-renderer/lib/peaks.ts) cover the signal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeAudio } from '../../src-main/engine/writers.js';
import { parseWavHeader, readFrames } from '../../src-renderer/lib/wav.js';
import { columns, type StemPeaks } from '../../src-renderer/lib/peaks.js';

const SR = 44100;
const N = 10_000;

function signal(): Float32Array[] {
  return [0, 1].map((c) => Float32Array.from({ length: N }, (_, i) => 0.8 * Math.sin((2 * Math.PI * (220 + 110 * c) * i) / SR)));
}

test('reads engine-written WAVs (float, 24-bit, 16-bit) exactly, also from a partial download', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'stemdeck-wavreader-'));
  try {
    const x = signal();
    for (const [format, tol] of [
      ['wav', 0],
      ['wav24', 2 / 8388608], // writers may scale by 2^(n−1) − 1: up to 2 LSB
      ['wav16', 2 / 32768],
    ] as const) {
      const file = path.join(dir, `${format}.wav`);
      await writeAudio(file, x, SR, format);
      const bytes = new Uint8Array(await fsp.readFile(file));
      // a few bytes are not enough for the header
      assert.equal(parseWavHeader(bytes.subarray(0, 10), bytes.length), null);
      const f = parseWavHeader(bytes.subarray(0, 200), bytes.length);
      assert.ok(f, `${format}: header from the first 200 bytes`);
      assert.equal(f.channels, 2);
      assert.equal(f.sampleRate, SR);
      assert.equal(f.frames, N);
      const out = [new Float32Array(N), new Float32Array(N)];
      // the first 1000 frames from a partial buffer, the rest from the whole file
      const partial = bytes.subarray(0, f.dataOffset + 1000 * f.blockAlign);
      readFrames(partial, f, 0, 1000, out);
      readFrames(bytes, f, 1000, N, out, 1000);
      let maxErr = 0;
      for (let c = 0; c < 2; c++) for (let i = 0; i < N; i++) maxErr = Math.max(maxErr, Math.abs(out[c][i] - x[c][i]));
      assert.ok(maxErr <= tol * 1.01, `${format}: max error ${maxErr}`);
    }
    // not a WAV: refused with a reason (the renderer falls back to decodeAudioData)
    assert.throws(() => parseWavHeader(new TextEncoder().encode('fLaC\0\0\0\0\0\0\0\0'), 12), /not a WAV/);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('waveform columns: min/max per pixel from the best peak level', () => {
  const frames = 4096;
  const level = (spp: number) => {
    const n = Math.ceil(frames / spp);
    const data = new Int8Array(n * 2);
    for (let i = 0; i < n; i++) {
      const v = i * spp < 2048 ? 64 : 127; // second half louder
      data[2 * i] = -v;
      data[2 * i + 1] = v;
    }
    return { spp, data };
  };
  const peaks: StemPeaks = { sampleRate: 4096, frames, levels: [level(16), level(256)] };
  const { min, max } = columns(peaks, 0, 1, 8);
  assert.equal(min.length, 8);
  assert.ok(Math.abs(max[0] - 64 / 127) < 1e-6 && Math.abs(max[7] - 1) < 1e-6);
  assert.ok(Math.abs(min[0] + 64 / 127) < 1e-6);
  // a window past the end is empty, not an error
  const past = columns(peaks, 2, 3, 4);
  assert.ok(past.max.every((v) => v === 0));
});
