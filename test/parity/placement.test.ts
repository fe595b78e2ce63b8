/**
 * The placements the HTDemucs and MDX-Net adapters declare (segments.ts Placement), on in-memory
 * arrays: the segments fall where the references put them for the fixture lengths
 * (../shared/fixtures/README.md lists them), and the stream reconstructs its input exactly with an
 * identity model under every placement, whatever the chunking (so lead-in, cut tails and blend
 * weights line up sample for sample).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenter, evenPlacement, separateStream, type Placement, type Segment } from '../../src-main/engine/index.js';
import { HtdemucsAdapter } from '../../src-main/engine/adapters/htdemucs.js';
import { MdxAdapter } from '../../src-main/engine/adapters/mdx.js';
import { Stft } from '../../src-main/engine/stft.js';
import { parseOnnxManifest } from '../../src-main/engine/manifest.js';
import type { AdapterContext, ModelAdapter, Planar } from '../../src-main/engine/adapters/types.js';
import type { OnnxModel } from '../../src-main/engine/registry.js';
import type { ort } from '../../src-main/engine/onnx.js';

const base = {
  architecture: 'x',
  sampleRate: 44100,
  channels: 2,
  tensors: { input: 'input', output: 'output' },
  files: [{ path: 'model.onnx', sha256: '0'.repeat(64), bytes: 1 }],
  trained: true,
  params: 0,
  license: 'test',
  source: 'test',
};
/** Placement needs only names from a session (no run): a stand-in with the names. */
const ctx = { session: { inputNames: ['input'], outputNames: ['output'] } as unknown as ort.InferenceSession, preferredBatch: 1, run: () => Promise.reject(new Error('not run')) } as AdapterContext;
const model = (m: Record<string, unknown>): OnnxModel => ({ manifest: parseOnnxManifest({ ...base, ...m }) as OnnxModel['manifest'], dir: '/nowhere', manifestPath: '/nowhere/manifest.json', origin: 'user' });

const htdemucs = new HtdemucsAdapter(
  model({ id: 'ht', name: 'ht', io: 'htdemucs', stems: ['drums', 'bass', 'other', 'vocals'], segment: { samples: 343980, overlap: 0.25 }, normalize: 'mixture-std' }),
  ctx,
);
const mdxManifest = { id: 'mdx', name: 'mdx', io: 'mdx-net', stems: ['vocals', 'instrumental'], segment: { samples: 261120, overlap: 0.0883 }, mdx: { nFft: 7680, dimF: 3072, dimT: 256, compensate: 1.021, primary: 'vocals', secondary: 'instrumental' } };
const mdx = new MdxAdapter(model(mdxManifest), ctx, new Stft(7680, 1024, true));

/** All segments of a signal of `total` samples (a ramp, so positions can be read back), pushed in 44100-sample chunks. */
function segmentsOf(placement: Placement, n: number, total: number): Segment[] {
  const s = new Segmenter(1, n, placement);
  const out: Segment[] = [];
  for (let o = 0; o < total; o += 44100) out.push(...s.push([Float32Array.from({ length: Math.min(44100, total - o) }, (_, i) => o + i + 1)]));
  out.push(...s.flush());
  return out;
}

test("HTDemucs: Demucs apply_model's segments for the fixture lengths (every stride, cut ones re-centred on real audio)", () => {
  const p = htdemucs.placement(0.25);
  assert.equal(p.stride, 257985);
  const short = segmentsOf(p, 343980, 300032);
  assert.deepEqual(short.map((s) => [s.start, s.from, s.length]), [[0, 21974, 300032], [257985, 150966, 42047]]);
  // offset 0: 21,974 zeros, the track, zeros; offset 257,985: the window [107,019, 450,999) of the track
  assert.equal(short[0].data[0][21973], 0);
  assert.equal(short[0].data[0][21974], 1);
  assert.equal(short[1].data[0][0], 107019 + 1);
  assert.equal(short[1].data[0][300032 - 107019 - 1], 300032);
  assert.equal(short[1].data[0][300032 - 107019], 0);
  const long = segmentsOf(p, 343980, 988296);
  assert.deepEqual(long.map((s) => [s.start, s.from, s.length]), [[0, 0, 343980], [257985, 0, 343980], [515970, 0, 343980], [773955, 64819, 214341]]);
  assert.equal(long[3].data[0][0], 709136 + 1);
  // the blend weights of a cut segment are the triangle's first values, not rescaled
  assert.deepEqual([...p.window(5)], [...p.window(343980).subarray(0, 5)]);
});

test("MDX-Net: UVR demix's chunks for the fixture lengths (n_fft/2 lead-in, step chunk − n_fft, short last chunk)", () => {
  const p = mdx.placement(0.0883);
  assert.deepEqual([p.leadIn, p.stride], [3840, 253440]);
  assert.equal(p.paddedLength!(300032), 514560);
  assert.equal(p.paddedLength!(988296), 1021440);
  const short = segmentsOf(p, 261120, 300032);
  assert.deepEqual(short.map((s) => [s.start, s.from, s.length]), [[0, 0, 261120], [253440, 0, 261120], [506880, 0, 7680]]);
  assert.equal(short[0].data[0][3839], 0);
  assert.equal(short[0].data[0][3840], 1);
  const long = segmentsOf(p, 261120, 988296);
  assert.deepEqual(long.map((s) => s.start), [0, 253440, 506880, 760320, 1013760]);
  assert.equal(long[4].length, 7680);
  // np.hanning(n): symmetric, zero at both ends
  const w = p.window(7680);
  assert.equal(w[0], 0);
  assert.equal(w[7679], 0);
  assert.ok(Math.abs(w[100] - w[7579]) < 1e-7);
  // another overlap is UVR's numeric one: step = int((1 − o)·chunk)
  assert.equal(mdx.placement(0.25).stride, Math.floor(0.75 * 261120));
});

/** Identity "model" with a given placement: every stem is the segment itself. */
function identity(n: number, placement: Placement): ModelAdapter {
  return {
    segmentSamples: n,
    maxBatch: 2,
    stems: ['a', 'b'],
    placement: () => placement,
    async process(segments: Planar[]) {
      return segments.map((seg) => [seg, seg.map((ch) => ch.map((v) => -v))]);
    },
  };
}

test('the stream gives the input back with an identity model under every placement, any chunking, any length', async () => {
  const N = 64;
  const placements: [string, Placement][] = [
    ['even', evenPlacement(N, 0.25)],
    ['centre (Demucs)', { leadIn: 0, stride: 48, tail: 'centre', window: (L) => Float32Array.from({ length: L }, (_, i) => (i < 32 ? i + 1 : 64 - i) / 32) }],
    ['cut with lead-in (UVR)', {
      leadIn: 8, stride: 48, tail: 'cut',
      paddedLength: (t) => 8 + t + 48 + 8 - (t % 48),
      window: (L) => Float32Array.from({ length: L }, (_, k) => (L === 1 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / (L - 1)))),
    }],
  ];
  for (const [name, p] of placements)
    for (const total of [1, 5, 40, 63, 64, 65, 100, 200, 333])
      for (const chunk of [1, 7, 64, 1000]) {
        const x = [Float32Array.from({ length: total }, (_, i) => Math.sin(i * 0.37) + 0.01 * i), Float32Array.from({ length: total }, (_, i) => Math.cos(i * 0.11))];
        async function* chunks(): AsyncGenerator<Planar> {
          for (let o = 0; o < total; o += chunk) yield x.map((ch) => ch.slice(o, Math.min(total, o + chunk)));
        }
        const got: number[][] = [[], []];
        for await (const c of separateStream(chunks(), { adapter: identity(N, p), channels: 2, overlap: 0.25, normalize: { mean: 0.1, std: 2 } }))
          for (let ch = 0; ch < 2; ch++) {
            got[ch].push(...c.stems[0][ch]);
            for (let i = 0; i < c.stems[1][ch].length; i++) assert.ok(Math.abs(c.stems[1][ch][i] + c.stems[0][ch][i] - 0.2) < 1e-5, 'stems scaled back by · std + mean');
          }
        for (let ch = 0; ch < 2; ch++) {
          assert.equal(got[ch].length, total, `${name}, ${total} samples, chunks of ${chunk}`);
          for (let i = 0; i < total; i++) assert.ok(Math.abs(got[ch][i] - x[ch][i]) < 1e-5, `${name}, ${total} samples, chunks of ${chunk}: sample ${i}`);
        }
      }
});
