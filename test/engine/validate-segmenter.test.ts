// training/validate.py scores whole tracks with its own numpy copy of the engine's segmenter
// (separate_segments: fixed segments, linear cross-fades, overlap-add). This pins the two together:
// the same mixture through a model whose output depends on where its segment sits (each segment's
// mean, and the segment scaled by its own peak) gives the same stems through both, so a change to
// either's placement or weights fails here. Needs /usr/bin/python3 with numpy and torch (skipped
// otherwise, as the other Python-backed tests are).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { separateStream, type ModelAdapter, type Planar } from '../../src-main/engine/index.js';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PY = '/usr/bin/python3';
// Segment samples: N·overlap = 250.25 is not whole, so both must round the overlap the same way
// (the engine: stride = N − Math.round(N·overlap); validate.py's int(N·(1 − overlap)) gave 750 ≠ 751).
const N = 1001;
const T = 3457; // not a whole number of strides: the last segment is zero-padded
const OVERLAP = 0.25;

/** Stem 0: the segment's mean (both channels) everywhere; stem 1: the segment scaled by its peak. */
function fakeModel(seg: Planar): Planar[] {
  let sum = 0;
  let peak = 0;
  for (const ch of seg)
    for (const v of ch) {
      sum += v;
      peak = Math.max(peak, Math.abs(v));
    }
  const mean = sum / (seg.length * seg[0].length);
  return [seg.map((ch) => new Float32Array(ch.length).fill(mean)), seg.map((ch) => ch.map((v) => v * peak))];
}

const PYTHON = String.raw`
import sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
import validate
N, T, overlap = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
class Fake:
    segment = N
    stems = ['mean', 'scaled']
    def separate(self, x):
        a = x[0]
        return torch.stack([torch.full_like(a, float(a.mean())), a * float(a.abs().max())])[None], None
mix = np.fromfile(sys.argv[2] + '/mix.f32', np.float32).reshape(2, T)
validate.separate_segments(Fake(), mix, overlap=overlap).astype(np.float32).tofile(sys.argv[2] + '/py.f32')
`;

test('training/validate.py separate_segments = the engine stream (positions, windows, overlap-add)', async (t) => {
  if (spawnSync(PY, ['-c', 'import numpy, torch'], { encoding: 'utf8' }).status !== 0) {
    t.skip('/usr/bin/python3 with numpy and torch is not available');
    return;
  }
  const mix: Planar = [0, 1].map((c) => Float32Array.from({ length: T }, (_, i) => 0.5 * Math.sin(i * (0.013 + 0.007 * c)) + 0.3 * Math.sin(i * 0.0011) + 0.1 * c));
  const dir = tempDir();
  const interleavedPlanes = new Float32Array(2 * T);
  interleavedPlanes.set(mix[0], 0);
  interleavedPlanes.set(mix[1], T);
  fs.writeFileSync(path.join(dir, 'mix.f32'), Buffer.from(interleavedPlanes.buffer));
  const r = spawnSync(PY, ['-c', PYTHON, path.join(ROOT, 'training'), dir, String(N), String(T), String(OVERLAP)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const buf = fs.readFileSync(path.join(dir, 'py.f32'));
  const py = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4); // [2 stems][2 channels][T]

  const adapter: ModelAdapter = { segmentSamples: N, maxBatch: 1, stems: ['mean', 'scaled'], process: async (segs) => segs.map(fakeModel) };
  async function* chunks(): AsyncGenerator<Planar> {
    for (let o = 0; o < T; o += 777) yield mix.map((ch) => ch.slice(o, Math.min(T, o + 777)));
  }
  const got: Planar[] = [0, 1].map(() => [new Float32Array(T), new Float32Array(T)]);
  let o = 0;
  for await (const c of separateStream(chunks(), { adapter, channels: 2, overlap: OVERLAP })) {
    const n = c.stems[0][0].length;
    for (let s = 0; s < 2; s++) for (let ch = 0; ch < 2; ch++) got[s][ch].set(c.stems[s][ch], o);
    o += n;
  }
  assert.equal(o, T);
  let worst = 0;
  let at = '';
  for (let s = 0; s < 2; s++)
    for (let ch = 0; ch < 2; ch++)
      for (let i = 0; i < T; i++) {
        const d = Math.abs(got[s][ch][i] - py[(s * 2 + ch) * T + i]);
        if (d > worst) [worst, at] = [d, `stem ${s} channel ${ch} sample ${i}`];
      }
  assert.ok(worst < 1e-5, `engine vs validate.py differ by ${worst} at ${at}`);
});
