// Issue 12, items 1, 3 and 10 (inputs): what reaches the stems is what the input holds, or the user
// is told. Non-finite samples are replaced with silence and counted (a warning); a cut-off file is
// refused with both lengths; a damaged spot is a warning; too-short inputs, text files named .mp3,
// link loops and unwritable output folders get messages that say what to do. Fixtures are made by
// the real ffmpeg; separation runs the real onnxruntime with the identity model (every stem equals
// the input), so the stems can be checked sample by sample against the input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile } from '../../src-main/engine/index.js';
import { StemdeckError, type StemdeckErrorCode } from '../../src-main/engine/errors.js';
import { allFinite, assertNothingLeft, ffmpeg, identityWaveform, listFiles, makeTone, readWav, rms, tempDir, truncate, tryMountTmpfs, useTempHome, writeFloatSamples } from './helpers.js';

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

function maxAbsDiff(a: Float32Array, b: Float32Array, n = Math.min(a.length, b.length)): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function nextJobWorks(): Promise<void> {
  const r = await separateFile({ input: good, outDir: outDir(), model: identityWaveform, format: 'wav' });
  assert.ok(maxAbsDiff(readWav(r.outputs.vocals).data[0], readWav(good).data[0]) < 1e-6, 'the next job gives the identity result');
  assert.deepEqual(r.warnings, [], 'a clean input has no warnings');
}

async function expectError(input: string, code: StemdeckErrorCode, message: RegExp, opts: { outDir?: string } = {}): Promise<StemdeckError> {
  const dir = opts.outDir ?? outDir();
  let err: unknown = null;
  const t0 = Date.now();
  try {
    await separateFile({ input, outDir: dir, model: identityWaveform, format: 'wav' });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StemdeckError, `separating ${path.basename(input)} fails with a StemdeckError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  assert.ok(!err.message.includes('\n'), 'one line');
  assert.ok(Date.now() - t0 < 30_000, 'fails promptly');
  if (!opts.outDir) assertNothingLeft(dir);
  await nextJobWorks();
  return err;
}

/** Decodes any file to 32-bit float WAV with ffmpeg (independent of the engine's decoder) and reads it. */
function decodeWithFfmpeg(file: string): Float32Array[] {
  const wav = `${file}.check.wav`;
  ffmpeg(['-i', file, '-c:a', 'pcm_f32le', wav]);
  return readWav(wav).data;
}

// ── 1. non-finite samples ──────────────────────────────────────────────────────────────────────

test('NaN/Inf samples in a float WAV: replaced with silence and counted; every format gets finite stems equal to the rest of the input', async () => {
  const src = makeTone(path.join(work, 'nan-src.wav'), 2, { codec: ['-c:a', 'pcm_f32le'] });
  // [frame, channel, value]: 5 NaN and 2 infinities (stereo interleaved float32)
  const poison: [number, number, number][] = [
    [1000, 0, NaN],
    [1001, 1, NaN],
    [20_000, 0, NaN],
    [44_100, 1, NaN],
    [70_000, 0, NaN],
    [50_000, 0, Infinity],
    [60_000, 1, -Infinity],
  ];
  const input = path.join(work, 'nan.wav');
  fs.copyFileSync(src, input);
  writeFloatSamples(input, poison.map(([frame, ch, v]) => [frame * 2 + ch, v] as const));
  // what the stems must be: the input with each poisoned sample silent
  const expected = readWav(src).data;
  for (const [frame, ch] of poison) expected[ch][frame] = 0;

  for (const [format, tolerance] of [
    ['wav', 1e-6],
    ['wav16', 2 / 32768],
    ['flac', 2 / 8388608],
    ['mp3', NaN],
  ] as const) {
    const dir = outDir();
    const r = await separateFile({ input, outDir: dir, model: identityWaveform, format });
    assert.deepEqual(listFiles(dir), Object.values(r.outputs).map((f) => path.basename(f)).sort(), `${format}: only the stems, no temp files`);
    for (const [stem, file] of Object.entries(r.outputs)) {
      const got = decodeWithFfmpeg(file);
      for (const [c, ch] of got.entries()) {
        assert.ok(allFinite(ch), `${format} ${stem}: finite`);
        if (Number.isNaN(tolerance)) {
          // MP3 (encoder delay, lossy): the same loudness as the input, not noise or silence
          const want = rms(expected[c]);
          assert.ok(Math.abs(rms(ch) - want) < 0.1 * want, `${format} ${stem}: RMS ${rms(ch)} ≈ ${want}`);
        } else {
          assert.equal(ch.length, expected[c].length, `${format} ${stem}: length`);
          assert.ok(maxAbsDiff(ch, expected[c]) <= tolerance, `${format} ${stem} ch${c}: equals the input (max diff ${maxAbsDiff(ch, expected[c])})`);
        }
      }
    }
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['input-non-finite'],
      `${format}: the user is told`,
    );
    assert.match(r.warnings[0].message, /7 samples that are not a number .*replaced with silence/);
  }
});

test('a model that outputs NaN → a model-contract error, nothing written (the writers never see NaN)', async () => {
  // fixtures/nan-output: stems = mixture × NaN (onnx.helper: Mul → Unsqueeze → Concat, opset 17)
  const model = path.join(import.meta.dirname, 'fixtures', 'nan-output', 'manifest.json');
  for (const format of ['flac', 'mp3'] as const) {
    const dir = outDir();
    await assert.rejects(
      separateFile({ input: good, outDir: dir, model, format }),
      (e: unknown) =>
        e instanceof StemdeckError && e.code === 'model-contract' && /produced samples that are not numbers \(NaN or infinity\).*nothing was written/.test(e.message),
    );
    assertNothingLeft(dir);
  }
  await nextJobWorks();
});

// ── 3. cut-off and damaged inputs ──────────────────────────────────────────────────────────────

for (const [name, codec, cut] of [
  ['half.flac', ['-c:a', 'flac'], 0.5],
  ['half.wav', ['-c:a', 'pcm_s16le'], 0.5],
  ['half-odd.wav', ['-c:a', 'pcm_s16le'], 0.5003],
  ['half.mp3', ['-c:a', 'libmp3lame', '-b:a', '192k'], 0.5],
] as const) {
  test(`a ${name.replace(/^half(-odd)?\./, '')} cut in half${name.includes('odd') ? ' (not on a frame boundary)' : ''} → an error with both lengths, nothing written`, async () => {
    const src = makeTone(path.join(work, `full-${name}`), 4, { codec: [...codec] });
    const f = truncate(src, path.join(work, name), cut);
    await expectError(f, 'input-corrupt', /cut off or damaged: it should last 4\.0\d s, but only [12]\.\d\d s could be decoded\. Use a complete copy/);
  });
}

test('an NI .stem.mp4 cut to a third → an error with both lengths, nothing written', async () => {
  // five AAC streams (mixture, drums, bass, other, vocals) with the index at the front, as NI writes them
  const src = path.join(work, 'full.stem.mp4');
  const inputs = [0, 1, 2, 3, 4].flatMap((k) => ['-f', 'lavfi', '-i', `sine=frequency=${220 * (k + 1)}:sample_rate=44100:duration=6`]);
  const maps = [0, 1, 2, 3, 4].flatMap((k) => ['-map', `${k}:a`]);
  ffmpeg([...inputs, ...maps, '-ac', '2', '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', '-f', 'mp4', src]);
  const f = truncate(src, path.join(work, 'third.stem.mp4'), 1 / 3);
  await expectError(f, 'input-corrupt', /cut off or damaged: it should last 6\.0\d s, but only [0-3]\.\d\d s could be decoded/);
});

test('a damaged spot inside an MP3 → separated at full length, with a warning that names the damage', async () => {
  const src = makeTone(path.join(work, 'whole.mp3'), 4, { codec: ['-c:a', 'libmp3lame', '-b:a', '192k'] });
  const b = fs.readFileSync(src);
  b.fill(0, Math.floor(b.length / 2), Math.floor(b.length / 2) + 1000); // 1000 bytes ≈ 0.04 s of 192-kbit/s frames zeroed
  const f = path.join(work, 'holed.mp3');
  fs.writeFileSync(f, b);
  const r = await separateFile({ input: f, outDir: outDir(), model: identityWaveform, format: 'wav' });
  assert.ok(r.frames > 3.6 * 44100, `about 4 s kept (the frames around the hole are lost), got ${r.frames / 44100} s`);
  assert.deepEqual(
    r.warnings.map((w) => w.code),
    ['input-damaged'],
  );
  assert.match(r.warnings[0].message, /is damaged: ffmpeg reported \d+ errors? while decoding it \(the first: ".+"\); those spots may be silent or glitchy/);
});

test('a video whose sound stops before the picture → separated, with a warning that gives both lengths', async () => {
  const f = path.join(work, 'clip.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=blue:s=64x64:d=3', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=1.5', '-c:v', 'libx264', '-c:a', 'aac', f]);
  const r = await separateFile({ input: f, outDir: outDir(), model: identityWaveform, format: 'wav' });
  assert.deepEqual(
    r.warnings.map((w) => w.code),
    ['input-length'],
  );
  assert.match(r.warnings[0].message, /is 3\.0\d s long, but its sound ends after 1\.5\d s/);
});

// ── 10. inputs that cannot be separated, with messages that say what to do ─────────────────────

test('a one-sample and a 0.16-s input → "too short to separate" (0.2 s is enough)', async () => {
  const one = path.join(work, 'one-sample.wav');
  ffmpeg(['-f', 'lavfi', '-i', "aevalsrc=exprs='0.5|-0.25':s=44100:d=1", '-af', 'atrim=end_sample=1', '-c:a', 'pcm_f32le', one]);
  await expectError(one, 'input-too-short', /too short to separate \(0\.00 s; Stemdeck needs at least 0\.2 s of audio\)\. Pick a longer file\./);
  const short = makeTone(path.join(work, 'blip.wav'), 0.16, { codec: ['-c:a', 'pcm_s16le'] });
  await expectError(short, 'input-too-short', /too short to separate \(0\.16 s;/);
  const enough = makeTone(path.join(work, 'fifth.wav'), 0.2, { codec: ['-c:a', 'pcm_s16le'] });
  const r = await separateFile({ input: enough, outDir: outDir(), model: identityWaveform, format: 'wav' });
  assert.equal(r.frames, 8820);
});

test('a text file named .mp3 → "not audio", never "Invalid argument"', async () => {
  const f = path.join(work, 'lyrics.mp3');
  fs.writeFileSync(f, 'These are my lyrics, not a song.\n'.repeat(200));
  const e = await expectError(f, 'input-not-audio', /is not audio that ffmpeg can read: it may be another kind of file .* Pick an audio or video file with sound\./);
  assert.doesNotMatch(e.message, /Invalid argument/);
});

test('a symbolic-link loop and a dangling link → say so (not "not found")', async () => {
  const a = path.join(work, 'loop-a.wav');
  const b = path.join(work, 'loop-b.wav');
  fs.symlinkSync(b, a);
  fs.symlinkSync(a, b);
  const loop = await expectError(a, 'input-missing', /is a symbolic link that leads back to itself \(a link loop\).*Pick the audio file itself/);
  assert.doesNotMatch(loop.message, /not found/);
  const dangling = path.join(work, 'dangling.wav');
  fs.symlinkSync(path.join(work, 'moved-away.wav'), dangling);
  await expectError(dangling, 'input-missing', /is a symbolic link to ".*moved-away\.wav", which does not exist/);
});

test('an output folder that cannot be made (under /proc; on a read-only mount) → says why, promptly, never an errno code alone', async () => {
  if (process.platform === 'linux') {
    // Node's recursive mkdir never settles under /proc: this used to hang
    const e = await expectError(good, 'output-unwritable', /Cannot write to ".*": a folder on its path does not exist and cannot be created there.*Choose an output folder you can write to\./, {
      outDir: `/proc/stemdeck-test-${process.pid}/song`,
    });
    assert.doesNotMatch(e.message, /\(E[A-Z]+\)/);
  }
  const ro = path.join(work, 'ro-mount');
  const unmount = tryMountTmpfs(ro, 'ro,size=1m');
  if (!unmount) return; // needs root and mount(2): checked where the test runs as root
  try {
    // recursive mkdir said ENOENT here
    await expectError(good, 'output-unwritable', /Cannot write to ".*ro-mount.*": it is on a read-only drive\. Choose an output folder you can write to\./, {
      outDir: path.join(ro, 'stems', 'song'),
    });
  } finally {
    unmount();
  }
});
