// Bad and odd inputs (issue 7 §3): each gives a clear StemdeckError or a correct result, leaves
// nothing partial that looks finished, and the next job still works. Fixtures are made by the real
// ffmpeg in a temp dir; separation uses the real onnxruntime with the tiny identity model
// (every stem equals the input, 1-s segments), so a "correct result" can be checked sample by sample.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile } from '../../src-main/engine/index.js';
import { StemdeckError, type StemdeckErrorCode } from '../../src-main/engine/errors.js';
import {
  allFinite,
  assertNothingLeft,
  ffmpeg,
  identityWaveform,
  listFiles,
  makeTone,
  readWav,
  rms,
  tempDir,
  truncate,
  useTempHome,
} from './helpers.js';

let work = '';
let home = '';
let good = '';
let jobs = 0;

before(() => {
  home = useTempHome();
  work = tempDir();
  good = makeTone(path.join(work, 'good.wav'), 1.5, { codec: ['-c:a', 'pcm_f32le'] });
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

function outDir(): string {
  return path.join(work, `out-${++jobs}`);
}

/** The next job after any failure must work: separate a good file and check it. */
async function nextJobWorks(): Promise<void> {
  const dir = outDir();
  const r = await separateFile({ input: good, outDir: dir, model: identityWaveform, format: 'wav' });
  const ref = readWav(good);
  const w = readWav(r.outputs.vocals);
  assert.equal(w.data[0].length, ref.data[0].length);
  assert.ok(maxAbsDiff(w.data[0], ref.data[0]) < 1e-3, 'the next job gives the identity result');
}

async function expectError(input: string, codes: StemdeckErrorCode[]): Promise<StemdeckError> {
  const dir = outDir();
  let err: unknown = null;
  try {
    await separateFile({ input, outDir: dir, model: identityWaveform, format: 'wav' });
  } catch (e) {
    err = e;
  }
  assert.ok(err, `separating ${path.basename(input)} should fail`);
  assert.ok(err instanceof StemdeckError, `a StemdeckError, got ${String(err)}`);
  assert.ok(codes.includes(err.code), `code ${err.code} is one of ${codes.join('|')} (${err.message})`);
  assert.ok(err.message.length > 10 && !err.message.includes('\n'), `a one-line message: ${JSON.stringify(err.message)}`);
  assertNothingLeft(dir);
  await nextJobWorks();
  return err;
}

/** `rate`: the input's sample rate, which the stems keep (the model runs at 44.1 kHz; `frames` counts its frames). */
async function expectOk(input: string, rate = 44100): Promise<{ outputs: Record<string, string>; frames: number; stems: Float32Array[][] }> {
  const dir = outDir();
  const r = await separateFile({ input, outDir: dir, model: identityWaveform, format: 'wav' });
  assert.deepEqual(Object.keys(r.outputs).sort(), ['other', 'vocals']);
  const stems: Float32Array[][] = [];
  for (const [stem, file] of Object.entries(r.outputs)) {
    assert.ok(file.startsWith(dir), `${stem} is written under the output folder`);
    const w = readWav(file);
    assert.equal(w.sampleRate, rate, `${stem} keeps the input's rate`);
    assert.equal(w.channels, 2);
    if (rate === 44100) assert.equal(w.data[0].length, r.frames, `${stem} has the job's frame count`);
    else assert.ok(Math.abs(w.data[0].length - (r.frames * rate) / 44100) <= rate / 100, `${stem}: the job's length at the input's rate`);
    for (const ch of w.data) assert.ok(allFinite(ch), `${stem} holds no NaN/Inf`);
    stems.push(w.data);
  }
  // nothing but the stems (no temp files left behind)
  assert.deepEqual(listFiles(dir).sort(), Object.values(r.outputs).map((f) => path.relative(dir, f)).sort());
  return { outputs: r.outputs, frames: r.frames, stems };
}

function maxAbsDiff(a: Float32Array, b: Float32Array, n = Math.min(a.length, b.length)): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('empty file → clear error', async () => {
  const f = path.join(work, 'empty.wav');
  fs.writeFileSync(f, '');
  await expectError(f, ['input-corrupt', 'input-not-audio']);
});

test('a text file named .mp3 → clear error', async () => {
  const f = path.join(work, 'notes.mp3');
  fs.writeFileSync(f, 'These are my lyrics, not a song.\n'.repeat(200));
  await expectError(f, ['input-not-audio', 'input-corrupt']);
});

test('a wav cut inside its header → clear error', async () => {
  const full = makeTone(path.join(work, 'hdr-src.wav'), 1, { codec: ['-c:a', 'pcm_s16le'] });
  const f = path.join(work, 'header-only.wav');
  fs.writeFileSync(f, fs.readFileSync(full).subarray(0, 20));
  await expectError(f, ['input-not-audio', 'input-corrupt']);
});

// Truncated files (a download that stopped half way): the readable part, or a clear error.
for (const [ext, codec] of [
  ['wav', ['-c:a', 'pcm_s16le']],
  ['mp3', ['-c:a', 'libmp3lame', '-b:a', '192k']],
  ['flac', ['-c:a', 'flac']],
] as const) {
  test(`truncated ${ext} → the readable part or a clear error`, async () => {
    const src = makeTone(path.join(work, `trunc-src.${ext}`), 4, { codec: [...codec] });
    const f = truncate(src, path.join(work, `truncated.${ext}`), 0.5);
    const dir = outDir();
    try {
      const r = await separateFile({ input: f, outDir: dir, model: identityWaveform, format: 'wav' });
      // A result must be the readable first half: about 2 s, and (identity model) equal to the input.
      assert.ok(r.frames > 1.5 * 44100 && r.frames < 2.5 * 44100, `about 2 s decoded, got ${r.frames} frames`);
      const w = readWav(r.outputs.vocals);
      assert.equal(w.data[0].length, r.frames);
      assert.ok(allFinite(w.data[0]) && rms(w.data[0]) > 0.1, 'real audio, not silence');
      if (ext === 'wav') {
        const ref = readWav(src);
        assert.ok(maxAbsDiff(w.data[0], ref.data[0], r.frames) < 1e-3, 'the decoded part equals the input');
      }
    } catch (e) {
      assert.ok(e instanceof StemdeckError, `a StemdeckError, got ${String(e)}`);
      assert.ok(['input-corrupt', 'input-not-audio'].includes(e.code), e.code);
      assertNothingLeft(dir);
    }
    await nextJobWorks();
  });
}

test('wrong extension (FLAC named .mp3) → correct result', async () => {
  const src = makeTone(path.join(work, 'real-flac.flac'), 2, { codec: ['-c:a', 'flac'] });
  const f = path.join(work, 'actually-flac.mp3');
  fs.copyFileSync(src, f);
  const ref = makeTone(path.join(work, 'real-flac-ref.wav'), 2, { codec: ['-c:a', 'pcm_s16le'] });
  const r = await expectOk(f);
  assert.equal(r.frames, 2 * 44100);
  assert.ok(maxAbsDiff(r.stems[0][0], readWav(ref).data[0]) < 1e-3, 'equals the input');
});

test('one sample long → "too short to separate" (issue 12: not a "0:00" song)', async () => {
  const f = path.join(work, 'one-sample.wav');
  ffmpeg(['-f', 'lavfi', '-i', "aevalsrc=exprs='0.5|-0.25':s=44100:d=1", '-af', 'atrim=end_sample=1', '-c:a', 'pcm_f32le', f]);
  assert.equal(readWav(f).data[0].length, 1, 'fixture is one sample long');
  const e = await expectError(f, ['input-too-short']);
  assert.match(e.message, /too short to separate/);
});

test('silence → silent stems of the right length', async () => {
  const f = path.join(work, 'silence.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '3', '-c:a', 'pcm_s16le', f]);
  const r = await expectOk(f);
  assert.equal(r.frames, 3 * 44100);
  for (const stem of r.stems) for (const ch of stem) assert.equal(rms(ch), 0);
});

test('full-scale clipped noise → finite stems equal to the input', async () => {
  const f = path.join(work, 'clipped.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'anoisesrc=r=44100:a=1:c=white:d=3', '-ac', '2', '-af', 'volume=20', '-c:a', 'pcm_s16le', f]);
  const ref = readWav(f);
  const r = await expectOk(f);
  assert.equal(r.frames, ref.data[0].length);
  assert.ok(maxAbsDiff(r.stems[0][0], ref.data[0]) < 1e-3);
  let peak = 0;
  for (const v of r.stems[0][1]) peak = Math.max(peak, Math.abs(v));
  assert.ok(peak > 0.99 && peak <= 1.0001, `full scale kept, peak ${peak}`);
});

test('8 kHz mono → dual-mono stems at 8 kHz, its exact length', async () => {
  const f = makeTone(path.join(work, 'mono8k.wav'), 2, { rate: 8000, channels: 1, codec: ['-c:a', 'pcm_s16le'] });
  const r = await expectOk(f, 8000);
  assert.ok(Math.abs(r.frames - 2 * 44100) <= 64, `≈ 2 s at 44.1 kHz inside the job, got ${r.frames}`);
  assert.equal(r.stems[0][0].length, 2 * 8000, 'the stems have the input\'s frame count');
  const [l, rr] = r.stems[0];
  assert.equal(maxAbsDiff(l, rr), 0, 'mono becomes identical left and right');
  assert.ok(rms(l) > 0.1);
});

test('192 kHz 6-channel → stereo stems at 192 kHz, its exact length', async () => {
  const f = makeTone(path.join(work, 'surround.flac'), 1.5, { rate: 192000, channels: 6, codec: ['-c:a', 'flac'] });
  const r = await expectOk(f, 192000);
  assert.ok(Math.abs(r.frames - 1.5 * 44100) <= 64, `≈ 1.5 s at 44.1 kHz inside the job, got ${r.frames}`);
  assert.equal(r.stems[0][0].length, 1.5 * 192000, 'the stems have the input\'s frame count');
  for (const ch of r.stems[0]) assert.ok(rms(ch) > 0.01, 'downmix holds audio');
});

test('unicode, spaces and quotes in input and output paths', async () => {
  const weird = path.join(work, `Ünïcødé 日本語 "quoted" 'single' & $(echo x) spaced`);
  fs.mkdirSync(weird, { recursive: true });
  const f = makeTone(path.join(weird, `Sigur Rós – "Hoppípolla" (it's live) #1.wav`), 1.5, { codec: ['-c:a', 'pcm_s16le'] });
  const dir = path.join(weird, `stems for "Hoppípolla" — 'ünï'`);
  const r = await separateFile({ input: f, outDir: dir, model: identityWaveform, format: 'wav' });
  assert.equal(path.dirname(r.outputs.vocals), dir);
  assert.equal(readWav(r.outputs.vocals).data[0].length, 1.5 * 44100);
  assert.ok(maxAbsDiff(readWav(r.outputs.vocals).data[0], readWav(f).data[0]) < 1e-3);
  // also a non-WAV writer (ffmpeg subprocess) with the same path
  const r2 = await separateFile({ input: f, outDir: dir, model: identityWaveform, format: 'flac', stems: ['vocals'] });
  assert.ok(fs.statSync(r2.outputs.vocals).size > 1000);
  assert.equal(path.basename(r2.outputs.vocals), 'vocals.flac');
});

test('a missing input → clear error', async () => {
  await expectError(path.join(work, 'no such file.wav'), ['input-missing']);
});

test('a folder as input → clear error', async () => {
  await expectError(work, ['input-not-audio', 'input-missing']);
});
