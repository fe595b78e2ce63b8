/**
 * The shared mix law equals what Web Audio actually does: the same lanes are rendered by a real
 * Chromium OfflineAudioContext (GainNode → StereoPannerNode → master GainNode) and by
 * `mixdown()`; they must agree to float32 precision (< −120 dB relative error). Chromium's lane
 * gains are computed here from the README's rules (dB, solo, mute), not by mix-law.ts, and a
 * linear pan law is shown to miss the render by far more than that bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultMix, laneGains, masterGain, mixdown, type MixInput, type MixState } from '../../src-main/shared/mix-law.js';
import { launchChromium } from '../e2e/chromium.js';

const SR = 44100;
const N = 4096;

function signal(seed: number, channels: number): Float32Array[] {
  let s = seed;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: channels }, () => Float32Array.from({ length: N }, () => rnd() * 0.5));
}

/**
 * A deliberately wrong law, for the negative control: StereoPannerNode's graph with linear pan
 * gains (L = 1 − x, R = x) instead of equal-power ones. Planar [channels][frames] in, [2][frames] out.
 */
function linearPanMixdown(inputs: readonly MixInput[], mix: MixState): [Float64Array, Float64Array] {
  const gains = laneGains(
    mix,
    inputs.map((i) => i.stem),
  );
  const master = masterGain(mix);
  const out: [Float64Array, Float64Array] = [new Float64Array(N), new Float64Array(N)];
  for (const { stem, audio } of inputs) {
    const g = gains[stem] * master;
    const pan = Math.max(-1, Math.min(1, mix.lanes[stem].pan));
    for (let i = 0; i < N; i++) {
      if (audio.length === 1) {
        const x = (pan + 1) / 2;
        out[0][i] += g * audio[0][i] * (1 - x);
        out[1][i] += g * audio[0][i] * x;
      } else if (pan <= 0) {
        const x = pan + 1;
        out[0][i] += g * (audio[0][i] + audio[1][i] * (1 - x));
        out[1][i] += g * audio[1][i] * x;
      } else {
        out[0][i] += g * audio[0][i] * (1 - pan);
        out[1][i] += g * (audio[1][i] + audio[0][i] * pan);
      }
    }
  }
  return out;
}

test('mixdown() equals a Chromium OfflineAudioContext render of the playback graph', { timeout: 90_000 }, async () => {
  const stems = ['vocals', 'drums', 'bass', 'other', 'piano'];
  const inputs = [
    { stem: 'vocals', audio: signal(1, 2) },
    { stem: 'drums', audio: signal(2, 2) },
    { stem: 'bass', audio: signal(3, 1) }, // mono input: the other StereoPannerNode rule
    { stem: 'other', audio: signal(4, 2) },
    { stem: 'piano', audio: signal(5, 2) },
  ];
  const cases: MixState[] = [];
  const a = defaultMix(stems);
  a.lanes.vocals = { volumeDb: -3, pan: -0.4, mute: false, solo: false };
  a.lanes.drums = { volumeDb: 4, pan: 0.6, mute: false, solo: false };
  a.lanes.bass = { volumeDb: -8.5, pan: 0.25, mute: false, solo: false };
  a.lanes.other = { volumeDb: 0, pan: -1, mute: false, solo: false };
  a.lanes.piano = { volumeDb: -1, pan: 1, mute: true, solo: false };
  a.masterDb = -2;
  cases.push(a);
  const b = structuredClone(a);
  b.lanes.drums.solo = true;
  b.lanes.bass.solo = true;
  b.lanes.bass.pan = -0.8;
  cases.push(b);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    for (const mix of cases) {
      // Chromium's gains come from the README's rules, not from mix-law.ts: fader dB → 10^(dB/20),
      // any solo → only soloed lanes sound, mute wins.
      const solo = stems.some((s) => mix.lanes[s].solo);
      const lanes = inputs.map((i) => {
        const lane = mix.lanes[i.stem];
        const audible = !lane.mute && (!solo || lane.solo);
        return { audio: i.audio.map((c) => Array.from(c)), gain: audible ? 10 ** (lane.volumeDb / 20) : 0, pan: lane.pan };
      });
      const rendered = await page.evaluate(
        async (lanes, master, sr, n) => {
          const ctx = new OfflineAudioContext(2, n, sr);
          const m = ctx.createGain();
          m.gain.value = master;
          m.connect(ctx.destination);
          for (const lane of lanes) {
            const buf = ctx.createBuffer(lane.audio.length, n, sr);
            lane.audio.forEach((c, i) => buf.copyToChannel(Float32Array.from(c), i));
            const src = ctx.createBufferSource();
            src.buffer = buf;
            const g = ctx.createGain();
            g.gain.value = lane.gain;
            const p = ctx.createStereoPanner();
            p.pan.value = lane.pan;
            src.connect(g).connect(p).connect(m);
            src.start(0);
          }
          const out = await ctx.startRendering();
          return [Array.from(out.getChannelData(0)), Array.from(out.getChannelData(1))];
        },
        lanes,
        10 ** (mix.masterDb / 20),
        SR,
        N,
      );
      const [L, R] = mixdown(inputs, mix);
      let err = 0;
      let ref = 0;
      for (let i = 0; i < N; i++) {
        err += (rendered[0][i] - L[i]) ** 2 + (rendered[1][i] - R[i]) ** 2;
        ref += L[i] ** 2 + R[i] ** 2;
      }
      assert.ok(ref > 1, 'the mix is not silent');
      const db = 10 * Math.log10(err / ref);
      assert.ok(db < -120, `Web Audio vs mixdown(): ${db.toFixed(1)} dB`);
      // The comparison can tell laws apart: the same graph with a linear pan law (gains 1 − x and
      // x instead of cos and sin) misses Chromium's render by far more than the bound above.
      const [wl, wr] = linearPanMixdown(inputs, mix);
      let wrongErr = 0;
      for (let i = 0; i < N; i++) wrongErr += (rendered[0][i] - wl[i]) ** 2 + (rendered[1][i] - wr[i]) ** 2;
      const wrongDb = 10 * Math.log10(wrongErr / ref);
      assert.ok(wrongDb > -30, `a linear pan law must not match Web Audio: ${wrongDb.toFixed(1)} dB`);
    }
  } finally {
    await browser.close();
  }
});
