import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bssEvalV4, bssEvalV4Sdr, csdr, fft64, museValFrameCount, nanMedian, sdr, siSdr } from '../../src-main/engine/metrics.js';

const SR = 1000;

/** Stereo sine, planar [2][n]; whole periods so sin and cos are orthogonal and zero-mean. */
function tone(n: number, freq: number, amp = 1, phase = 0): Float32Array[] {
  return [0, 1].map((c) => {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / SR + phase + c * 0.3);
    return x;
  });
}

function add(a: Float32Array[], b: Float32Array[], gb = 1): Float32Array[] {
  return a.map((ch, c) => ch.map((v, i) => v + gb * b[c][i]));
}

test('sdr: an estimate at 0.9× the reference scores exactly 20 dB', () => {
  const s = tone(4000, 5);
  const e = s.map((ch) => ch.map((v) => 0.9 * v));
  assert.ok(Math.abs(sdr(s, e) - 20) < 1e-4, String(sdr(s, e)));
  assert.ok(sdr(s, s) > 60);
});

test('sdr: a known additive error gives 10·log10 of the energy ratio', () => {
  const s = tone(4000, 5, 1);
  const n = tone(4000, 7, 0.1);
  assert.ok(Math.abs(sdr(s, add(s, n)) - 20) < 1e-3, String(sdr(s, add(s, n))));
  // mixture of two equal sources as estimate of one of them: 0 dB
  const o = tone(4000, 11, 1);
  assert.ok(Math.abs(sdr(s, add(s, o))) < 1e-3);
});

test('sdr: a shorter estimate is zero-padded, a longer one truncated', () => {
  const s = tone(1000, 5);
  const short = s.map((ch) => ch.slice(0, 500));
  const expect = 10 * Math.log10(s[0].reduce((a, v) => a + v * v, 0) * 2 / (s.flatMap((ch) => Array.from(ch.slice(500))).reduce((a, v) => a + v * v, 0)));
  assert.ok(Math.abs(sdr(s, short) - expect) < 1e-3);
  const long = s.map((ch) => Float32Array.from([...ch, 5, 5, 5]));
  assert.ok(sdr(s, long) > 60);
});

test('siSdr is invariant to the estimate scale and ignores DC; sdr is not', () => {
  const s = tone(4000, 5, 1);
  const n = tone(4000, 7, 0.2); // orthogonal to s: after scaling by 2, noise/target = 0.01
  const e = add(s.map((ch) => ch.map((v) => 2 * v)), n);
  assert.ok(Math.abs(siSdr(s, e) - 20) < 1e-3, String(siSdr(s, e)));
  const eDc = e.map((ch) => ch.map((v) => v + 0.5));
  assert.ok(Math.abs(siSdr(s, eDc) - 20) < 1e-3);
  assert.ok(sdr(s, e) < 1, String(sdr(s, e)));
  assert.ok(siSdr(s, s.map((ch) => ch.map((v) => -3 * v))) > 100);
});

test('museval framing: full frames only, tail dropped', () => {
  assert.equal(museValFrameCount(300032, 44100, 44100), 6);
  assert.equal(museValFrameCount(44100, 44100, 44100), 1);
  assert.equal(museValFrameCount(44099, 44100, 44100), 1);
  assert.equal(museValFrameCount(88200, 44100, 44100), 2);
  assert.equal(museValFrameCount(88199, 44100, 44100), 1);
});

test('bssEvalV4Sdr: per-frame SDR; a silent frame in any source is NaN for all, and the median skips it', () => {
  const n = 2500; // 2 frames of 1000 + a tail of 500 that museval ignores
  const a = tone(n, 5, 1);
  const b = tone(n, 9, 1);
  // estimate of a: error 0.1·a in frame 0, 0.01·a in frame 1, garbage in the ignored tail
  const ea = a.map((ch) => ch.map((v, i) => (i < 1000 ? 0.9 * v : i < 2000 ? 0.99 * v : 100)));
  const eb = b.map((ch) => ch.map((v) => 0.5 * v));
  const frames = bssEvalV4Sdr([a, b], [ea, eb], 1000, 1000);
  assert.equal(frames[0].length, 2);
  assert.ok(Math.abs(frames[0][0] - 20) < 1e-3 && Math.abs(frames[0][1] - 40) < 1e-3, String(frames[0]));
  assert.ok(Math.abs(frames[1][0] - 6.0206) < 1e-3);
  assert.deepEqual(csdr([a, b], [ea, eb], 1000, 1000).map((x) => Math.round(x * 1000) / 1000), [30, 6.021]);
  // silence b in frame 1 → frame 1 is NaN for BOTH sources (museval's rule)
  const bSilent = b.map((ch) => ch.map((v, i) => (i >= 1000 && i < 2000 ? 0 : v)));
  const f2 = bssEvalV4Sdr([a, bSilent], [ea, eb], 1000, 1000);
  assert.ok(Number.isNaN(f2[0][1]) && Number.isNaN(f2[1][1]));
  assert.ok(Math.abs(nanMedian(f2[0]) - 20) < 1e-3);
});

test('nanMedian', () => {
  assert.equal(nanMedian([3, 1, 2]), 2);
  assert.equal(nanMedian([4, 1, 3, 2]), 2.5);
  assert.equal(nanMedian([Number.NaN, 5, Number.NaN]), 5);
  assert.ok(Number.isNaN(nanMedian([Number.NaN])));
});

/** xorshift32 noise in [−0.5, 0.5), identical to test/cli/museval_synthetic.py. */
function noise(seed: number, n: number): Float64Array {
  let x = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x / 4294967296 - 0.5;
  }
  return out;
}

test('bssEvalV4 (with distortion filters) matches museval on synthetic signals: SDR, ISR, SIR, SAR', () => {
  const nsrc = 3;
  const n = 5000;
  const refs = Array.from({ length: nsrc }, (_, j) => [0, 1].map((c) => noise(1000 + 10 * j + c, n)));
  const ests = refs.map((r, j) =>
    [0, 1].map((c) => {
      const other = refs[(j + 1) % nsrc][c];
      const nz = noise(5000 + 10 * j + c, n);
      return r[c].map((v, i) => 0.8 * v + 0.3 * (i >= 3 ? other[i - 3] : 0) + 0.2 * r[1 - c][i] + 0.1 * nz[i]);
    }),
  );
  // museval 0.4.1: metrics.bss_eval(window=2000, hop=1500, filters_len=32, framewise_filters=False,
  // bsseval_sources_version=False) — printed by test/cli/museval_synthetic.py
  const museval = {
    sdr: [[7.426421, 7.542472, 7.532273], [7.579111, 7.448071, 7.459482], [7.507649, 7.427341, 7.406609]],
    isr: [[10.928572, 11.016499, 10.943684], [11.011373, 10.982839, 11.080169], [10.924459, 10.77868, 10.829995]],
    sir: [[8.904729, 8.985903, 8.95373], [8.879649, 8.846761, 8.900767], [8.883347, 8.853948, 8.811272]],
    sar: [[19.022142, 18.904474, 18.8812], [19.012835, 19.028353, 18.992971], [18.915531, 18.802271, 18.845423]],
  };
  const r = bssEvalV4(refs, ests, 2000, 1500, 32);
  for (const k of ['sdr', 'isr', 'sir', 'sar'] as const)
    for (let j = 0; j < nsrc; j++) {
      assert.equal(r[k][j].length, 3);
      for (let t = 0; t < 3; t++) assert.ok(Math.abs(r[k][j][t] - museval[k][j][t]) < 1e-4, `${k}[${j}][${t}] = ${r[k][j][t]}, museval ${museval[k][j][t]}`);
    }
  // and the fast path gives the same SDR frames
  const fast = bssEvalV4Sdr(refs, ests, 2000, 1500);
  for (let j = 0; j < nsrc; j++) for (let t = 0; t < 3; t++) assert.ok(Math.abs(fast[j][t] - r.sdr[j][t]) < 1e-9);
});

test('fft64 round trip and a known transform', () => {
  const re = Float64Array.from({ length: 16 }, (_, i) => Math.cos((2 * Math.PI * 3 * i) / 16));
  const im = new Float64Array(16);
  fft64(re, im);
  assert.ok(Math.abs(re[3] - 8) < 1e-12 && Math.abs(re[13] - 8) < 1e-12 && Math.abs(re[0]) < 1e-12);
  fft64(re, im, true);
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(re[i] - Math.cos((2 * Math.PI * 3 * i) / 16)) < 1e-12);
});
