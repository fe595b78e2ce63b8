/**
 * The first downbeat (engine/analysis/downbeat.ts) on generated music with a known bar: drum bars
 * (kick on 1, snare on 2 and 4, hi-hats on eighths) at 70–170 BPM, starting on each beat of the
 * bar (a pick-up: the first beat is not the downbeat); a rock beat (kick on 1 and 3) with chords
 * changing at the bar lines; click tracks (no bar: no downbeat). A downbeat is right within 70 ms
 * of the start of any bar (the usual tolerance of downbeat evaluation). Also: the estimator on
 * hand-made features, and firstDownbeatSeconds in `separate --json` and in the app's song.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { analyzeFile } from '../../src-main/engine/analysis/index.js';
import { estimateDownbeat, type BarFeatures } from '../../src-main/engine/analysis/downbeat.js';
import { SongSchema } from '../../src-main/api/contract.js';
import { App } from '../../src-main/host/app.js';
import { ffmpeg, tempDir } from '../engine/helpers.js';
import { fixtureModel, runCli } from '../cli/helpers.js';
import { isolatedHome, waitJobEnd } from '../app/helpers.js';
import { clickTrack, songIn120AMinor } from './signals.js';

const SR = 44100;

/**
 * Drum bars at `bpm`, silent for `lead` s, then starting on beat `startBeat + 1` of the bar; the
 * kick on beat 1 only, or on 1 and 3 (`rock`). Returns the first downbeat's time.
 */
function drumBars(file: string, bpm: number, startBeat: number, opts: { lead?: number; seconds?: number; rock?: boolean } = {}): number {
  const { lead = 0.2, seconds = 16, rock = false } = opts;
  const beat = 60 / bpm;
  const bar = 4 * beat;
  const u = `(t-${lead}+${startBeat * beat})`; // time since a bar's start
  const kickEvery = rock ? 2 * beat : bar;
  const k = `mod(${u},${kickEvery})`;
  const kick = `0.9*sin(2*PI*55*${k}*(1+2*exp(-30*${k})))*exp(-12*${k})`;
  const snare = `0.5*(random(0)-0.5)*exp(-25*mod(${u}-${beat},${2 * beat}))*gte(mod(${u},${bar}),${beat / 2})`;
  const hat = `0.12*(random(1)-0.5)*exp(-90*mod(${u},${beat / 2}))`;
  ffmpeg(['-f', 'lavfi', '-i', `aevalsrc='if(gte(t,${lead}),${kick}+${snare}+${hat},0)':s=${SR}:d=${seconds}`, '-c:a', 'pcm_s16le', file]);
  return lead + ((4 - startBeat) % 4) * beat;
}

const noteHz = (midi: number): number => 440 * 2 ** ((midi - 69) / 12);

/** Triads (Am F C G), one per bar from `from` s on, mixed into `drums` → `file`. */
function withChords(file: string, drums: string, from: number, bar: number, seconds = 16): void {
  const chords = [
    [57, 60, 64],
    [53, 57, 60],
    [48, 52, 55],
    [55, 59, 62],
  ];
  const parts: string[] = [];
  for (let i = 0; from + i * bar < seconds; i++)
    parts.push(`between(t,${(from + i * bar).toFixed(4)},${(from + (i + 1) * bar - 1e-4).toFixed(4)})*(${chords[i % 4].map((m) => `0.1*sin(2*PI*${noteHz(m).toFixed(3)}*t)`).join('+')})`);
  const tones = `${file}.chords.wav`;
  // 22.05 kHz: ffmpeg evaluates the long expression per sample (the top note is < 700 Hz)
  ffmpeg(['-f', 'lavfi', '-i', `aevalsrc='${parts.join('+')}':s=${SR / 2}:d=${seconds}`, '-c:a', 'pcm_s16le', tones]);
  ffmpeg(['-i', drums, '-i', tones, '-filter_complex', `[1]aresample=${SR}[b];[0][b]amix=inputs=2:duration=longest`, file]);
}

/** Whether `got` is within 70 ms of a bar start (`first` + k bars). */
function onABar(got: number | null | undefined, first: number, bar: number): boolean {
  if (got == null) return false;
  const bars = (got - first) / bar;
  return Math.abs(bars - Math.round(bars)) * bar <= 0.07;
}

test('the estimator on hand-made features: bass on the bar, a chord change, a grid at half the tempo, no bar', () => {
  const frames = 2000;
  const period = 40; // frames per beat
  const phase = 10;
  const features = (bassAt: (beat: number) => number, chordOf: (beat: number) => number = () => 0): BarFeatures => {
    const bass = new Float32Array(frames);
    const chroma = new Float32Array(frames * 12);
    for (let t = 0; t < frames; t++) {
      const b = (t - phase) / period;
      if (b >= 0 && Number.isInteger(b)) bass[t] = bassAt(b);
      if (b >= 0) chroma[t * 12 + chordOf(Math.floor(b))] = 1;
    }
    return { bass, chroma, frames };
  };
  // the bar starts on the grid's third beat (a pick-up of two beats): bass there only
  assert.equal(estimateDownbeat(features((b) => (b % 4 === 2 ? 1 : 0.1)), phase, period)?.frame, phase + 2 * period);
  // equal bass on every beat, the chord changing every 4 beats from beat 1: the change decides
  assert.equal(estimateDownbeat(features(() => 1, (b) => Math.floor((b + 3) / 4) % 3), phase, period)?.frame, phase + period);
  // the grid at half the tempo (a grid beat is two beats of the music): the bar's start lies halfway
  // between grid beats, every other 4-beat cycle (two bars): the earlier one
  const half = features(() => 0.1);
  for (let t = phase + period / 2; t < frames; t += 2 * period) half.bass[t] = 1;
  assert.equal(estimateDownbeat(half, phase, period)?.frame, phase + period / 2);
  // every beat alike: no downbeat; too short: none either
  assert.equal(estimateDownbeat(features(() => 1), phase, period), null);
  const short = features((b) => (b % 4 === 0 ? 1 : 0));
  assert.equal(estimateDownbeat({ ...short, frames: phase + 7 * period }, phase, period), null);
});

test('drum bars at 70–170 BPM starting on each beat of the bar: a bar\'s start within 70 ms where the beat is read right or at half the tempo, the first one where it is read right', { timeout: 300_000 }, async () => {
  const dir = tempDir('stemdeck-downbeat-');
  const results: string[] = [];
  let right = 0;
  let first = 0;
  let n = 0;
  for (const bpm of [70, 85, 96, 110, 120, 128, 140, 150, 170])
    for (const startBeat of [0, 1, 2, 3]) {
      const file = path.join(dir, `drums-${bpm}-${startBeat}.wav`);
      const want = drumBars(file, bpm, startBeat);
      const a = await analyzeFile(file);
      const got = a.tempo?.firstDownbeatSeconds;
      const ok = onABar(got, want, (4 * 60) / bpm);
      const isFirst = got != null && Math.abs(got - want) <= 0.07;
      n++;
      if (ok) right++;
      if (isFirst) first++;
      const read = a.tempo ? a.tempo.bpm / bpm : 0;
      results.push(`${bpm}/${startBeat + 1}: ${got?.toFixed(3) ?? 'null'} (want ${want.toFixed(3)}, tempo ${a.tempo?.bpm})${ok ? '' : ' WRONG'}`);
      // read right: the first bar; at half the tempo (128–170 BPM, tempo.ts) the downbeat lies between
      // grid beats and a 4-beat cycle is two bars: a bar's start (the second bar's may be reported);
      // at double the tempo (70 read as 140) a 4-beat cycle is half a bar: not asserted, counted
      if (Math.abs(read - 1) <= 0.02) assert.ok(isFirst, `${bpm} BPM from beat ${startBeat + 1}: ${got}, want the first downbeat ${want.toFixed(3)}`);
      if (Math.abs(read - 0.5) <= 0.01) assert.ok(ok, `${bpm} BPM (read at half) from beat ${startBeat + 1}: ${got}, want a bar's start (${want.toFixed(3)} + bars)`);
    }
  console.log(`# downbeat, drum bars: ${right}/${n} on a bar's start, ${first}/${n} the first one — ${results.join('; ')}`);
  assert.ok(right >= n - 4, `most of them: ${results.filter((r) => r.endsWith('WRONG')).join('; ')}`);
});

test('kick on 1 and 3: chords changing at the bar lines decide; drums alone give a kick beat; clicks give none', { timeout: 300_000 }, async () => {
  const dir = tempDir('stemdeck-downbeat-');
  for (const bpm of [90, 120, 140])
    for (const startBeat of [0, 1, 2, 3]) {
      const drums = path.join(dir, `rock-${bpm}-${startBeat}.wav`);
      const want = drumBars(drums, bpm, startBeat, { rock: true });
      const bar = (4 * 60) / bpm;
      const song = path.join(dir, `song-${bpm}-${startBeat}.wav`);
      withChords(song, drums, want, bar);
      const a = await analyzeFile(song);
      assert.ok(onABar(a.tempo?.firstDownbeatSeconds, want, bar), `${bpm} BPM from beat ${startBeat + 1}, with chords: ${a.tempo?.firstDownbeatSeconds} (want ${want.toFixed(3)})`);
      // without chords beats 1 and 3 are alike: either, never 2 or 4
      const d = await analyzeFile(drums);
      const got = d.tempo?.firstDownbeatSeconds;
      assert.ok(got == null || onABar(got, want, bar) || onABar(got, want + bar / 2, bar), `${bpm} BPM drums alone: ${got} (a kick beat: ${want.toFixed(3)} or ${(want + bar / 2).toFixed(3)})`);
    }
  for (const bpm of [100, 128]) {
    const file = path.join(dir, `click-${bpm}.wav`);
    clickTrack(file, bpm, 16, 0.3);
    const a = await analyzeFile(file);
    assert.ok(a.tempo, `${bpm} BPM click: a tempo`);
    assert.equal(a.tempo.firstDownbeatSeconds, null, `${bpm} BPM click: every beat alike, no downbeat`);
  }
});

test('firstDownbeatSeconds in `separate --json` (next to tempo) and in the app\'s song.json', { timeout: 300_000 }, async () => {
  const dir = tempDir('stemdeck-downbeat-');
  // clicks from 0.1 s at 120 BPM, A-minor chords changing every 2 s (a bar) from 0 s: the bar starts on the click at 0.1 s
  const input = songIn120AMinor(dir);
  const silent = path.join(dir, 'silent.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '3', silent]);
  const r = await runCli(['separate', input, silent, '--model', fixtureModel('identity-waveform'), '--out', path.join(dir, 'out'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [song, quiet] = r.json;
  assert.deepEqual(Object.keys(song).slice(Object.keys(song).indexOf('tempo'), Object.keys(song).indexOf('tempo') + 2), ['tempo', 'firstDownbeatSeconds']);
  assert.ok(onABar(song.firstDownbeatSeconds as number, 0.1, 2), `CLI: first downbeat ${song.firstDownbeatSeconds}`);
  assert.equal(quiet.firstDownbeatSeconds, null, 'silence: none');

  isolatedHome();
  const app = new App({ shell: 'browser' });
  await app.start();
  try {
    await app.settings.set({ model: 'identity-waveform' });
    app.guard.choose(input);
    const opened = await app.openFiles([input], undefined);
    const job = await waitJobEnd(app, opened.jobs[0].id, 120_000);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    const onDisk = SongSchema.parse(JSON.parse(fs.readFileSync(path.join(app.library.songDir(job.songId!), 'song.json'), 'utf8')));
    assert.ok(onABar(onDisk.firstDownbeatSeconds, 0.1, 2), `song.json: first downbeat ${onDisk.firstDownbeatSeconds}`);
    assert.equal(onDisk.firstDownbeatSeconds, song.firstDownbeatSeconds, 'the app and the CLI agree');
  } finally {
    await app.stop();
  }
});
