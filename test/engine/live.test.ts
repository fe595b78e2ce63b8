/**
 * Live separation (engine/live.ts, separate-live.ts): segments separated in the listener's order
 * give the sequential stream's result bit for bit — the segment plan equals the Segmenter's, the
 * overlap-add of out-of-order segments sums each frame in segment order, and a job in live mode
 * writes the same stem files as a normal job (the real MUSDB clip, a single model and the default
 * cascade, with the work moved ahead by a seek).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelAdapter, Planar } from '../../src-main/engine/adapters/types.js';
import { evenPlacement, Segmenter, segmentPlan, type Placement } from '../../src-main/engine/segments.js';
import { cascadeStream, separateStream, subtract } from '../../src-main/engine/stream.js';
import { LiveSeparation, MemoryFrameStore, type LiveStageOptions } from '../../src-main/engine/live.js';
import { liveControl, separateFileLive } from '../../src-main/engine/separate-live.js';
import { loadRegistry, separateFile } from '../../src-main/engine/index.js';
import { isolateHome, realClip, skipUnlessShared, tempDir, testSignal } from './helpers.js';

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** Demucs-like: a segment at every stride, the cut end re-centred, triangle-ish weights. */
function centrePlacement(n: number, overlap: number): Placement {
  const w = Float32Array.from({ length: n }, (_, i) => Math.min(i + 1, n - i) ** 1);
  return { leadIn: 0, stride: Math.max(1, Math.floor((1 - overlap) * n)), tail: 'centre', window: (len) => (len >= n ? w : w.subarray(0, len)) };
}

/** UVR-like: a lead-in, zeros up to a padded length, cut segments zero-padded. */
function cutPlacement(n: number, leadIn: number): Placement {
  const gen = n - 2 * leadIn;
  const hann = (len: number) => Float32Array.from({ length: len }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / len));
  return { leadIn, stride: n - 2 * leadIn, tail: 'cut', paddedLength: (total) => leadIn + total + gen + leadIn - (total % gen), window: (len) => hann(len) };
}

const placements: [string, number, Placement][] = [
  ['even 0.25', 1000, evenPlacement(1000, 0.25)],
  ['even 0', 1000, evenPlacement(1000, 0)],
  ['centre', 1000, centrePlacement(1000, 0.25)],
  ['cut', 1024, cutPlacement(1024, 128)],
  ['cut, lead-in ≥ N', 400, { ...cutPlacement(400, 100), leadIn: 900 }],
];

test('segmentPlan: the Segmenter\'s segments (starts, kept parts, input samples) without holding the signal', () => {
  for (const [name, N, p] of placements)
    for (const total of [1, 399, 500, 999, 1000, 1001, 2500, 7777]) {
      const x = testSignal(total);
      const seg = new Segmenter(2, N, p);
      const got = [...seg.push(x.map((c) => c.subarray(0, Math.floor(total / 3)))), ...seg.push(x.map((c) => c.subarray(Math.floor(total / 3)))), ...seg.flush()];
      const plan = segmentPlan(p, N, total);
      assert.equal(plan.length, got.length, `${name}, ${total} frames: segment count`);
      const L = Math.max(0, Math.floor(p.leadIn));
      plan.forEach((s, k) => {
        const g = got[k];
        assert.deepEqual([s.start, s.from, s.length], [g.start, g.from, g.length], `${name}, ${total}: segment ${k}`);
        for (let c = 0; c < 2; c++) {
          const d = new Float32Array(N);
          for (let i = 0; i < N; i++) {
            const t = s.inputFrom + i - L;
            if (t >= 0 && t < total) d[i] = x[c][t];
          }
          assert.ok(sameBits(d, g.data[c]), `${name}, ${total}: segment ${k} input`);
        }
      });
    }
});

/** A model whose outputs depend on the position inside the segment (misplaced segments change them); finishes out of order. */
function fakeAdapter(N: number, stems: number, placement: Placement, seed: number): ModelAdapter {
  return {
    segmentSamples: N,
    maxBatch: 1,
    stems: Array.from({ length: stems }, (_, s) => `s${s}`),
    placement: () => placement,
    async process(segments: Planar[]): Promise<Planar[][]> {
      await new Promise((r) => setTimeout(r, (seed * 7 + segments[0][0][17] * 1e4) % 5));
      return segments.map((seg) =>
        Array.from({ length: stems }, (_, s) =>
          seg.map((ch, c) => Float32Array.from(ch, (v, i) => Math.tanh(v * (s + 1.3)) * (0.6 + 0.4 * Math.sin(i * 0.013 + s + c)) + 0.05 * ch[(i * 7 + s) % N]))),
      );
    },
  };
}

async function streamAll(x: Planar, stages: (LiveStageOptions & { residualIdx?: number })[], residual: number): Promise<Planar[]> {
  async function* chunks() {
    for (let at = 0; at < x[0].length; at += 777) yield x.map((c) => c.slice(at, at + 777));
  }
  const parts: Planar[][] = [];
  if (stages.length === 1) {
    for await (const c of separateStream(chunks(), { ...stages[0], channels: 2 })) parts.push(c.stems);
  } else {
    for await (const c of cascadeStream(chunks(), stages.map((s) => ({ ...s, channels: 2 })))) {
      if (residual >= 0) c.stems[residual] = subtract(c.mixture, c.stems.filter((_, i) => i !== residual));
      parts.push(c.stems);
    }
  }
  return parts[0].map((_, s) => [0, 1].map((c) => {
    const out = new Float32Array(x[0].length);
    let at = 0;
    for (const p of parts) {
      out.set(p[s][c], at);
      at += p[s][c].length;
    }
    return out;
  }));
}

async function liveAll(x: Planar, stages: LiveStageOptions[], residual: number, steer: (sep: LiveSeparation, regions: number) => void): Promise<{ stems: Planar[]; order: number[] }> {
  const frames = x[0].length;
  const outputs = stages.flatMap((s) => s.keep.map(() => new MemoryFrameStore(2, frames)));
  const order: number[] = [];
  let regions = 0;
  const sep: LiveSeparation = new LiveSeparation({
    channels: 2,
    frames,
    sampleRate: 44100,
    stages,
    mixture: new MemoryFrameStore(2, frames, x),
    outputs,
    residual,
    depth: 3,
    onTask: (t) => {
      if (t.stage === stages.length - 1) order.push(t.from);
    },
    onRegions: () => steer(sep, ++regions),
  });
  steer(sep, 0);
  await sep.run();
  return { stems: outputs.map((o) => o.planes), order };
}

function assertSameStems(a: Planar[], b: Planar[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((st, s) => st.forEach((ch, c) => assert.ok(sameBits(ch, b[s][c]), `${what}: stem ${s} channel ${c} differs`)));
}

test('live separation = the sequential stream, bit for bit, in any order (placements, normalisation, residual, cascade)', async () => {
  const frames = 9000;
  const x = testSignal(frames);
  const steers: [string, (sep: LiveSeparation, regions: number) => void][] = [
    ['from the start', () => undefined],
    ['seek to 70 % first', (sep, r) => r === 0 && sep.setPlayhead(0.7 * frames, false)],
    ['playing from 30 %, then a seek back to 5 %', (sep, r) => (r === 0 ? sep.setPlayhead(0.3 * frames, true) : r === 2 && sep.setPlayhead(0.05 * frames, false))],
  ];
  for (const [name, N, p] of placements.slice(0, 4)) {
    const single: LiveStageOptions[] = [{ adapter: fakeAdapter(N, 3, p, 1), overlap: 0.25, normalize: { mean: 0.01, std: 0.3 }, residualIdx: 2, keep: [0, 1, 2] }];
    const ref = await streamAll(x, single, -1);
    for (const [how, steer] of steers) {
      const live = await liveAll(x, single, -1, steer);
      assertSameStems(live.stems, ref, `${name}, ${how}`);
    }
  }
  // a cascade: stage 1 keeps stem 0, stage 2 (another placement) keeps stems 0 and 1; the job's residual is the last
  const cascade: LiveStageOptions[] = [
    { adapter: fakeAdapter(1600, 2, evenPlacement(1600, 0.1), 2), overlap: 0.1, residualIdx: 1, keep: [0] },
    { adapter: fakeAdapter(1000, 3, centrePlacement(1000, 0.25), 3), overlap: 0.25, normalize: { mean: -0.02, std: 0.5 }, keep: [0, 1] },
  ];
  const ref = await streamAll(x, cascade, 2);
  for (const [how, steer] of steers) assertSameStems((await liveAll(x, cascade, 2, steer)).stems, ref, `cascade, ${how}`);
});

test('live order: a seek far ahead moves the work there, then the rest is filled', async () => {
  const frames = 20000;
  const x = testSignal(frames);
  const stages: LiveStageOptions[] = [{ adapter: fakeAdapter(1000, 2, evenPlacement(1000, 0.25), 4), overlap: 0.25, keep: [0, 1] }];
  const { order } = await liveAll(x, stages, -1, (sep, r) => r === 0 && sep.setPlayhead(15000, false));
  // the first segment started is the one under the playhead, then on to the end, then from the start
  assert.ok(order[0] <= 15000 && order[0] > 14000 - 1000, `first segment at ${order[0]}`);
  const wrap = order.findIndex((f, i) => i > 0 && f < order[i - 1]);
  assert.ok(wrap > 0 && order[wrap] === 0, `filled from the start after the end: ${order.join(',')}`);
  assert.deepEqual(order.slice(0, wrap), [...order.slice(0, wrap)].sort((a, b) => a - b), 'ahead of the playhead in signal order');
});

for (const which of ['single', 'cascade'] as const)
  test(`a live job on the real clip writes the normal job's stems byte for byte (${which} model, work moved by a seek)`, { skip: skipUnlessShared(realClip), timeout: 300_000 }, async () => {
    isolateHome();
    const reg = await loadRegistry();
    const id = which === 'single' ? 'demucs-small-v1' : reg.defaultId!;
    assert.equal(reg.get(id).manifest.io === 'cascade', which === 'cascade', `${id} is a ${which} model`);
    const normal = await separateFile({ input: realClip, outDir: path.join(tempDir(), 'normal'), model: id, format: 'wav' });
    const liveDir = tempDir('stemdeck-live-');
    const starts: number[] = [];
    // the listener seeks to 5 s before anything is separated: the work starts there
    const control = liveControl();
    control.setPlayhead(5, false);
    const live = await separateFileLive({
      input: realClip,
      outDir: path.join(tempDir(), 'live'),
      model: id,
      format: 'wav',
      live: {
        dir: liveDir,
        onState: (s) => {
          if (s.separating && starts[starts.length - 1] !== s.separating.from) starts.push(s.separating.from);
        },
      },
      control,
    });
    assert.deepEqual(Object.keys(live.outputs).sort(), Object.keys(normal.outputs).sort());
    for (const stem of Object.keys(normal.outputs)) {
      const a = fs.readFileSync(normal.outputs[stem]);
      const b = fs.readFileSync(live.outputs[stem]);
      assert.ok(a.length > 44 && Buffer.compare(a, b) === 0, `${stem}.wav differs between the normal and the live job`);
    }
    assert.equal(live.frames, normal.frames);
    assert.ok(starts.length >= 2 && starts[0] > 0, `the first segment started at the playhead (5 s), not at 0: ${starts.join(', ')}`);
    console.log(`# ${id}: segments started at frames ${starts.join(', ')}; live ${live.seconds.toFixed(2)} s, normal ${normal.seconds.toFixed(2)} s`);
  });
