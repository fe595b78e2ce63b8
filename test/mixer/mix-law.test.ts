import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FADER_MAX_DB,
  FADER_MIN_DB,
  applyPreset,
  dbToGain,
  defaultMix,
  formatDb,
  formatPan,
  formatTime,
  gainToDb,
  laneGain,
  laneGains,
  loopFromDrag,
  mixdown,
  normalizeDb,
  panFrame,
  panGains,
  playheadAt,
  presetStems,
  startOffset,
  type MixState,
} from '../../src-main/shared/mix-law.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
const STEMS = ['vocals', 'drums', 'bass', 'other'];

test('fader: dB to gain, −∞ at the bottom', () => {
  close(dbToGain(0), 1);
  close(dbToGain(-6), 0.501187233627);
  close(dbToGain(6), 1.995262314969);
  assert.equal(dbToGain(FADER_MIN_DB), 0);
  assert.equal(dbToGain(-120), 0);
  assert.equal(dbToGain(-Infinity), 0);
  assert.equal(dbToGain(Number.NaN), 0);
  assert.ok(dbToGain(FADER_MIN_DB + 0.5) > 0);
  close(gainToDb(dbToGain(-12.5)), -12.5);
  assert.equal(gainToDb(0), -Infinity);
  assert.equal(normalizeDb(100), FADER_MAX_DB);
  assert.equal(normalizeDb(-Infinity), FADER_MIN_DB);
  assert.equal(normalizeDb(-3.26), -3.5);
  assert.equal(formatDb(FADER_MIN_DB), '−∞ dB');
  assert.equal(formatDb(0), '0.0 dB');
  assert.equal(formatDb(3.5), '+3.5 dB');
  assert.equal(formatDb(-12), '−12.0 dB');
});

test('mute and solo: any solo → only soloed lanes sound; mute wins', () => {
  const mix = defaultMix(STEMS);
  assert.deepEqual(Object.values(laneGains(mix, STEMS)), [1, 1, 1, 1]);
  mix.lanes.drums.mute = true;
  assert.deepEqual(laneGains(mix, STEMS), { vocals: 1, drums: 0, bass: 1, other: 1 });
  mix.lanes.vocals.solo = true;
  assert.deepEqual(laneGains(mix, STEMS), { vocals: 1, drums: 0, bass: 0, other: 0 });
  mix.lanes.drums.solo = true; // soloed but muted: mute wins
  assert.deepEqual(laneGains(mix, STEMS), { vocals: 1, drums: 0, bass: 0, other: 0 });
  mix.lanes.vocals.mute = true; // every soloed lane muted: a solo still exists, so silence
  assert.deepEqual(laneGains(mix, STEMS), { vocals: 0, drums: 0, bass: 0, other: 0 });
  mix.lanes.bass.volumeDb = -6;
  mix.lanes.bass.solo = true;
  close(laneGain(mix, 'bass'), dbToGain(-6));
  // unknown stem plays at default unless a solo exists
  close(laneGain(defaultMix(STEMS), 'piano'), 1);
  assert.equal(laneGain(mix, 'piano'), 0);
});

test('pan law: equal power, StereoPannerNode mono and stereo rules', () => {
  // mono centre: both −3 dB
  const m = panGains(0, 1);
  close(m.gainL, Math.SQRT1_2);
  close(m.gainR, Math.SQRT1_2);
  // equal power for every position (mono)
  for (const p of [-1, -0.7, -0.2, 0.3, 0.9, 1]) {
    const g = panGains(p, 1);
    close(g.gainL ** 2 + g.gainR ** 2, 1);
  }
  // stereo centre passes L and R unchanged
  const [l0, r0] = panFrame(0, 0.25, -0.5);
  close(l0, 0.25, 1e-12);
  close(r0, -0.5, 1e-12);
  // stereo hard left: R folds into L, R silent
  const [l1, r1] = panFrame(-1, 0.25, -0.5);
  close(l1, 0.25 - 0.5);
  close(r1, 0, 1e-12);
  // stereo hard right
  const [l2, r2] = panFrame(1, 0.25, -0.5);
  close(l2, 0, 1e-12);
  close(r2, -0.5 + 0.25);
  // stereo half left: x = 0.5 → L = inL + inR·cos(π/4), R = inR·sin(π/4)
  const [l3, r3] = panFrame(-0.5, 1, 1);
  close(l3, 1 + Math.SQRT1_2);
  close(r3, Math.SQRT1_2);
  // mono hard left
  const [l4, r4] = panFrame(-1, 1, undefined);
  close(l4, 1);
  close(r4, 0, 1e-12);
  // out-of-range and NaN are clamped / centred
  assert.deepEqual(panGains(5, 2), panGains(1, 2));
  assert.deepEqual(panGains(Number.NaN, 2), panGains(0, 2));
  assert.equal(formatPan(0), 'C');
  assert.equal(formatPan(-0.3), 'L 30');
  assert.equal(formatPan(1), 'R 100');
});

test('mixdown equals the per-frame graph, with mute, solo, pan and master', () => {
  const n = 1000;
  const mk = (f: number, ch = 2) =>
    Array.from({ length: ch }, (_, c) => Float32Array.from({ length: n }, (_, i) => Math.sin((i * f + c) / 17) * 0.5));
  const inputs = [
    { stem: 'vocals', audio: mk(1) },
    { stem: 'drums', audio: mk(2) },
    { stem: 'bass', audio: mk(3, 1) },
    { stem: 'other', audio: mk(4).map((a) => a.subarray(0, 600)) },
  ];
  const mix: MixState = defaultMix(STEMS);
  mix.lanes.vocals = { volumeDb: -3, pan: -0.4, mute: false, solo: false };
  mix.lanes.drums = { volumeDb: 2, pan: 0.6, mute: false, solo: false };
  mix.lanes.bass = { volumeDb: 0, pan: 0.2, mute: false, solo: false };
  mix.lanes.other = { volumeDb: -10, pan: 0, mute: true, solo: false };
  mix.masterDb = -1.5;
  const [L, R] = mixdown(inputs, mix);
  assert.equal(L.length, n);
  const gains = laneGains(mix, STEMS);
  for (const i of [0, 1, 333, 599, 600, 999]) {
    let l = 0;
    let r = 0;
    for (const inp of inputs) {
      const g = gains[inp.stem];
      const a = inp.audio[0][i] ?? 0;
      const b = inp.audio.length > 1 ? (inp.audio[1][i] ?? 0) : undefined;
      const [pl, pr] = panFrame(mix.lanes[inp.stem].pan, a * g, b === undefined ? undefined : b * g);
      l += pl;
      r += pr;
    }
    close(L[i], l * dbToGain(-1.5), 1e-6);
    close(R[i], r * dbToGain(-1.5), 1e-6);
  }
  // all default and only vocals: output equals the vocals stem exactly
  const solo = defaultMix(STEMS);
  solo.lanes.vocals.solo = true;
  const [sl, sr] = mixdown(inputs, solo);
  assert.ok(sl.every((v, i) => Math.abs(v - inputs[0].audio[0][i]) < 1e-7));
  close(sr[10], inputs[0].audio[1][10], 1e-7);
  // silent master
  const silent = defaultMix(STEMS);
  silent.masterDb = FADER_MIN_DB;
  assert.ok(mixdown(inputs, silent)[0].every((v) => v === 0));
});

test('presets: instrumental, a cappella, drumless, bassless', () => {
  assert.deepEqual(presetStems('instrumental', STEMS), ['drums', 'bass', 'other']);
  assert.deepEqual(presetStems('acappella', STEMS), ['vocals']);
  assert.deepEqual(presetStems('drumless', STEMS), ['vocals', 'bass', 'other']);
  assert.deepEqual(presetStems('bassless', STEMS), ['vocals', 'drums', 'other']);
  const mix = defaultMix(STEMS);
  mix.lanes.bass.solo = true;
  mix.lanes.drums.volumeDb = -4;
  const inst = applyPreset(mix, 'instrumental', STEMS);
  assert.deepEqual(laneGains(inst, STEMS), { vocals: 0, drums: dbToGain(-4), bass: 1, other: 1 });
  assert.equal(mix.lanes.vocals.mute, false, 'applyPreset does not mutate its input');
});

test('loop maths: drag, wrap, start offset', () => {
  assert.deepEqual(loopFromDrag(5, 2, 10), { start: 2, end: 5 });
  assert.deepEqual(loopFromDrag(-1, 12, 10), { start: 0, end: 10 });
  assert.equal(loopFromDrag(3, 3.01, 10), null);
  const loop = { start: 2, end: 4 };
  close(playheadAt(1, 0.5, 10, loop), 1.5);
  close(playheadAt(1, 2.9, 10, loop), 3.9);
  close(playheadAt(1, 3, 10, loop), 2);
  close(playheadAt(1, 3.5, 10, loop), 2.5);
  close(playheadAt(1, 7.25, 10, loop), 2.25);
  close(playheadAt(3, 100, 10, null), 10);
  close(playheadAt(3, 1, 10, null), 4);
  assert.equal(startOffset(5, 10, loop), 2);
  assert.equal(startOffset(1, 10, loop), 2);
  assert.equal(startOffset(3, 10, loop), 3);
  assert.equal(startOffset(10, 10, null), 0);
  assert.equal(startOffset(7, 10, null), 7);
});

test('time formatting', () => {
  assert.equal(formatTime(0), '0:00.0');
  assert.equal(formatTime(65.34), '1:05.3');
  assert.equal(formatTime(-3), '0:00.0');
  assert.equal(formatTime(125, false), '2:05');
});
