import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stft } from '../../src-main/engine/stft.js';
import { realFft, fftReady } from '../../src-main/engine/fft.js';

function noise(n: number, seed = 1): Float32Array {
  let s = seed;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    x[i] = (s / 0x7fffffff) * 2 - 1;
  }
  return x;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('real FFT matches a direct DFT', async () => {
  await fftReady;
  for (const n of [2048, 6144, 64, 30]) {
    const fft = realFft(n);
    const x = noise(n, n);
    const re = new Float32Array(n / 2 + 1);
    const im = new Float32Array(n / 2 + 1);
    fft.forward(x, re, im);
    for (const k of [0, 1, 7, n / 2 - 1, n / 2]) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        sr += x[t] * Math.cos((2 * Math.PI * k * t) / n);
        si -= x[t] * Math.sin((2 * Math.PI * k * t) / n);
      }
      assert.ok(Math.abs(sr - re[k]) < 1e-3 * Math.sqrt(n), `n=${n} k=${k} re ${re[k]} vs ${sr} (${fft.backend})`);
      assert.ok(Math.abs(si - im[k]) < 1e-3 * Math.sqrt(n), `n=${n} k=${k} im`);
    }
  }
  assert.equal(realFft(2048).backend, 'pffft-simd');
});

test('STFT round trip < 1e-5 for several nFft/hop and lengths', async () => {
  const cases: [number, number, boolean, number][] = [
    [2048, 512, true, 44100],
    [2048, 441, true, 30001],
    [4096, 1024, true, 12345],
    [6144, 1024, true, 20000],
    [64, 16, true, 1001],
    [30, 10, true, 301],
    [2048, 512, true, 700],
    [512, 128, false, 512 + 128 * 10],
  ];
  for (const [nFft, hop, center, n] of cases) {
    const stft = await Stft.create(nFft, hop, center);
    const x = noise(n, nFft + n);
    const spec = stft.forward(x);
    assert.equal(spec.frames, stft.frames(n));
    const y = stft.inverse(spec.re, spec.im, spec.bins, spec.frames, n);
    // without centring, the first and last half-window cannot be rebuilt (window zeros at the edges)
    const lo = center ? 0 : nFft / 2;
    const err = maxAbsDiff(x.subarray(lo, n - lo), y.subarray(lo, n - lo));
    assert.ok(err < 1e-5, `nFft ${nFft} hop ${hop} n ${n}: max error ${err}`);
  }
});

test('STFT matches torch conventions: frames and a DC bin of a constant', async () => {
  const stft = await Stft.create(2048, 512, true);
  assert.equal(stft.frames(44100), 1 + Math.floor(44100 / 512));
  const x = new Float32Array(10000).fill(0.5);
  const s = stft.forward(x);
  // periodic Hann sums to nFft/2; constant 0.5 → DC = 512 in every frame (reflect padding keeps it constant)
  for (let t = 0; t < s.frames; t++) assert.ok(Math.abs(s.re[t] - 512) < 1e-2, `frame ${t}: ${s.re[t]}`);
});

test('fewer bins: the kept bins equal the full transform; the inverse zero-fills the rest', async () => {
  for (const nFft of [2048, 64]) {
    const stft = await Stft.create(nFft, nFft / 4, true);
    const x = noise(5000, 9);
    const full = stft.forward(x);
    const cut = stft.forward(x, nFft / 4);
    assert.equal(cut.frames, full.frames);
    assert.deepEqual(cut.re, full.re.subarray(0, cut.re.length));
    assert.deepEqual(cut.im, full.im.subarray(0, cut.im.length));
    // inverse of the cut spectrogram = inverse of the full one with the upper bins zeroed
    const zre = full.re.slice();
    const zim = full.im.slice();
    zre.fill(0, cut.re.length);
    zim.fill(0, cut.im.length);
    const a = stft.inverse(cut.re, cut.im, cut.bins, cut.frames, x.length);
    const b = stft.inverse(zre, zim, full.bins, full.frames, x.length);
    assert.ok(maxAbsDiff(a, b) < 1e-6);
  }
});

test('STFT speed: one 3 s stereo segment, forward + inverse (nFft 2048, hop 512), CPU time', async () => {
  const stft = await Stft.create(2048, 512, true);
  const n = 132300;
  const x = noise(n, 3);
  const T = stft.frames(n);
  const re = new Float32Array(1025 * T);
  const im = new Float32Array(1025 * T);
  const reps = 20;
  const u0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    stft.forwardInto(x, re, im);
    stft.inverse(re, im, 1025, T, n);
  }
  const u = process.cpuUsage(u0);
  const ms = (u.user + u.system) / 1000 / reps;
  const perSecondStereo = (2 * ms) / (n / 44100);
  console.log(`# STFT+iSTFT: ${perSecondStereo.toFixed(1)} ms CPU per second of stereo audio (${(1000 / perSecondStereo).toFixed(0)}× real time on one core)`);
  assert.ok(perSecondStereo < 200);
});
