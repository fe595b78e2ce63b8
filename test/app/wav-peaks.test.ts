/**
 * The app's WAV reader/writer (16/24/32f round trips, chunk boundaries, ffmpeg agrees) and the
 * waveform peaks (every level equals a naive min/max over its window, across chunk boundaries).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { encodeSamples, readWavChunks, readWavInfo, wavHeader, type WavSampleFormat } from '../../src-main/engine/output/wav.js';
import { PeaksBuilder, encodePeaks, parsePeaks } from '../../src-main/api/peaks.js';
import { decodeAll } from '../../src-main/engine/decode.js';
import { tempDir } from './helpers.js';

function signal(n: number, seed: number): Float32Array[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  return [new Float32Array(n).map(() => rnd() * 0.9), new Float32Array(n).map(() => rnd() * 0.5)];
}

async function readAll(file: string, chunk: number): Promise<Float32Array[]> {
  const parts: Float32Array[][] = [];
  for await (const c of readWavChunks(file, chunk)) parts.push(c);
  const n = parts.reduce((a, c) => a + c[0].length, 0);
  const out = parts[0].map(() => new Float32Array(n));
  let off = 0;
  for (const c of parts) {
    c.forEach((ch, k) => out[k].set(ch, off));
    off += c[0].length;
  }
  return out;
}

test('WAV 16/24/32f round trips (with clipping) and ffmpeg reads what we write', async () => {
  const dir = tempDir();
  const n = 10_007;
  const x = signal(n, 3);
  x[0][5] = 1.5; // clipped in the integer formats
  x[1][6] = -1.5;
  for (const [format, tol] of [
    ['wav32f', 0],
    ['wav24', 1.5 / 8388608],
    ['wav16', 1.5 / 32768],
  ] as [WavSampleFormat, number][]) {
    const f = path.join(dir, `${format}.wav`);
    fs.writeFileSync(f, Buffer.concat([wavHeader(format, 44100, 2, n), encodeSamples(format, x)]));
    const info = await readWavInfo(f);
    assert.equal(info.frames, n);
    assert.equal(info.float, format === 'wav32f');
    for (const chunk of [1000, 4096, 65536]) {
      const y = await readAll(f, chunk);
      assert.equal(y[0].length, n);
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < n; i++) {
          const want = format === 'wav32f' ? x[c][i] : Math.max(-1, Math.min(1 - 1 / 2 ** 15, x[c][i]));
          assert.ok(Math.abs(y[c][i] - want) <= tol + (format === 'wav32f' ? 0 : 1 / 2 ** 15), `${format} c${c} i${i}: ${y[c][i]} vs ${want}`);
        }
    }
    const z = await decodeAll(f, { sampleRate: 44100, channels: 2 });
    assert.equal(z[0].length, n);
    assert.ok(Math.abs(z[0][100] - x[0][100]) < 1e-3);
  }
});

test('peaks: every level is the min/max of its window, whatever the chunking', () => {
  const n = 44100 + 777;
  const x = signal(n, 9);
  const levels = [256, 1024, 4096];
  for (const chunk of [100, 256, 1000, 65536]) {
    const b = new PeaksBuilder(n, levels);
    for (let i = 0; i < n; i += chunk) b.push(x.map((c) => c.subarray(i, i + chunk)));
    const data = b.levelData();
    levels.forEach((spp, l) => {
      const count = Math.ceil(n / spp);
      assert.equal(data[l].length, count * 2);
      for (let k = 0; k < count; k++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = k * spp; i < Math.min(n, (k + 1) * spp); i++)
          for (const c of x) {
            lo = Math.min(lo, c[i]);
            hi = Math.max(hi, c[i]);
          }
        assert.equal(data[l][2 * k], Math.round(lo * 127), `level ${spp} peak ${k} min (chunk ${chunk})`);
        assert.equal(data[l][2 * k + 1], Math.round(hi * 127), `level ${spp} peak ${k} max (chunk ${chunk})`);
      }
    });
    const parsed = parsePeaks(encodePeaks(44100, n, levels, [data, data]).slice().buffer);
    assert.equal(parsed.frames, n);
    assert.equal(parsed.stems.length, 2);
    assert.deepEqual(
      parsed.stems[1].map((l) => l.samplesPerPeak),
      levels,
    );
    assert.deepEqual(parsed.stems[1][2].data, data[2]);
  }
});
