/**
 * Decoding every input kind the product promises, with fixtures made by ffmpeg at test time:
 * wav, aiff, flac, mp3, m4a/aac, ogg/vorbis, opus, the audio of a video, the first stream (the
 * mixture) of a multi-stream .stem.mp4-like file; mono → dual mono, 5.1 → stereo, resampling;
 * probe tags and artwork.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeAll, probeAudio, writeAudio, locateFfmpeg, StemdeckError } from '../../src-main/engine/index.js';
import { newDecodeReport } from '../../src-main/engine/decode.js';
import { errorDb, ffmpeg, isolateHome, tempDir, testSignal } from './helpers.js';

let dir = '';
let src = '';
const SR = 44100;
const n = 2 * SR + 123; // 2 s and a bit

before(async () => {
  isolateHome();
  dir = tempDir();
  src = path.join(dir, 'src.wav');
  await writeAudio(src, testSignal(n), SR, 'wav');
});

test('locateFfmpeg finds a working binary', () => {
  const loc = locateFfmpeg();
  assert.ok(fs.existsSync(loc.path));
  assert.ok(['env', 'ffmpeg-static', '@ffmpeg-installer', 'path'].includes(loc.source));
});

test('STEMDECK_FFMPEG pointing nowhere gives ffmpeg-missing', () => {
  const old = process.env.STEMDECK_FFMPEG;
  process.env.STEMDECK_FFMPEG = path.join(dir, 'no-such-ffmpeg');
  try {
    assert.throws(() => locateFfmpeg(), (e: unknown) => e instanceof StemdeckError && e.code === 'ffmpeg-missing');
  } finally {
    if (old === undefined) delete process.env.STEMDECK_FFMPEG;
    else process.env.STEMDECK_FFMPEG = old;
  }
});

const lossless: [string, string[]][] = [
  ['wav16.wav', ['-c:a', 'pcm_s16le']],
  ['aiff.aiff', ['-c:a', 'pcm_s16be']],
  ['flac.flac', ['-c:a', 'flac']],
];
const lossy: [string, string[]][] = [
  ['mp3.mp3', ['-c:a', 'libmp3lame', '-b:a', '192k']],
  ['m4a.m4a', ['-c:a', 'aac', '-b:a', '192k']],
  ['ogg.ogg', ['-c:a', 'libvorbis', '-q:a', '6']],
  ['opus.opus', ['-c:a', 'libopus', '-b:a', '160k']],
];

test('lossless formats decode to the same samples', async () => {
  const x = testSignal(n);
  for (const [name, codec] of lossless) {
    const f = path.join(dir, name);
    ffmpeg(['-i', src, ...codec, f]);
    const info = await probeAudio(f);
    assert.equal(info.sampleRate, SR, name);
    assert.equal(info.channels, 2, name);
    const y = await decodeAll(f, { sampleRate: SR, channels: 2 });
    assert.equal(y[0].length, n, `${name} length`);
    const e = errorDb(x, y);
    assert.ok(e < -60, `${name}: ${e.toFixed(1)} dB`);
  }
});

test('lossy formats decode to about the right length and signal', async () => {
  const x = testSignal(n);
  for (const [name, codec] of lossy) {
    const f = path.join(dir, name);
    ffmpeg(['-i', src, ...codec, f]);
    const info = await probeAudio(f);
    assert.ok(info.codec.length > 0, name);
    assert.ok(Math.abs(info.durationSeconds - n / SR) < 0.1, `${name} duration ${info.durationSeconds}`);
    const y = await decodeAll(f, { sampleRate: SR, channels: 2 });
    assert.ok(Math.abs(y[0].length - n) < 3000, `${name} length ${y[0].length}`);
    // energy within 3 dB (codecs add delay, so no sample comparison)
    const ex = x[0].reduce((a, v) => a + v * v, 0);
    const ey = y[0].reduce((a, v) => a + v * v, 0);
    assert.ok(Math.abs(10 * Math.log10(ey / ex)) < 3, `${name} energy`);
  }
});

test('video with audio: the audio track is decoded', async () => {
  const f = path.join(dir, 'video.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=2', '-i', src, '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-c:a', 'aac', '-shortest', f]);
  const y = await decodeAll(f, { sampleRate: SR, channels: 2 });
  assert.ok(y[0].length > SR, `decoded ${y[0].length}`);
});

test('multi-stream .stem.mp4-like file: the first audio stream (the mixture) is decoded', async () => {
  const f = path.join(dir, 'song.stem.mp4');
  // stream 0 = sine 440 (mixture), streams 1, 2 = other tones
  ffmpeg([
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2:sample_rate=44100',
    '-f', 'lavfi', '-i', 'sine=frequency=3000:duration=2:sample_rate=44100',
    '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '2',
    '-map', '0:a', '-map', '1:a', '-map', '2:a', '-c:a', 'aac', f,
  ]);
  const info = await probeAudio(f);
  assert.equal(info.audioStreams, 3);
  const y = await decodeAll(f, { sampleRate: SR, channels: 2 });
  // zero crossings of a 440 Hz tone over ~1 s in the middle: ≈ 880
  let zc = 0;
  for (let i = SR / 2; i < SR * 1.5; i++) if (y[0][i - 1] < 0 !== y[0][i] < 0) zc++;
  assert.ok(Math.abs(zc - 880) < 20, `zero crossings ${zc}: not the first stream`);
  const y1 = await decodeAll(f, { sampleRate: SR, channels: 2, stream: 1 });
  let zc1 = 0;
  for (let i = SR / 2; i < SR * 1.5; i++) if (y1[0][i - 1] < 0 !== y1[0][i] < 0) zc1++;
  assert.ok(Math.abs(zc1 - 6000) < 100, `stream 1 zero crossings ${zc1}`);
});

test('mono becomes dual mono; 5.1 is downmixed; 48 kHz is resampled', async () => {
  const mono = path.join(dir, 'mono.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=1000:duration=1:sample_rate=44100', '-ac', '1', mono]);
  assert.equal((await probeAudio(mono)).channels, 1);
  const m = await decodeAll(mono, { sampleRate: SR, channels: 2 });
  assert.equal(m.length, 2);
  assert.equal(m[0].length, SR);
  assert.ok(errorDb([m[0]], [m[1]]) === -Infinity || errorDb([m[0]], [m[1]]) < -100, 'dual mono: L = R');

  const six = path.join(dir, 'six.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=500:duration=1:sample_rate=48000', '-af', 'pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0', six]);
  const info6 = await probeAudio(six);
  assert.equal(info6.channels, 6);
  assert.equal(info6.sampleRate, 48000);
  const s = await decodeAll(six, { sampleRate: SR, channels: 2 });
  assert.equal(s.length, 2);
  assert.ok(Math.abs(s[0].length - SR) <= 2, `resampled length ${s[0].length}`);
  assert.ok(s[0].some((v) => Math.abs(v) > 0.05), 'downmix has signal');
});

test('probe reads tags and artwork presence', async () => {
  const png = path.join(dir, 'cover.png');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:size=32x32', '-frames:v', '1', png]);
  const f = path.join(dir, 'tagged.mp3');
  ffmpeg([
    '-i', src, '-i', png, '-map', '0:a', '-map', '1:v', '-c:a', 'libmp3lame', '-c:v', 'png', '-disposition:v', 'attached_pic',
    '-metadata', 'title=Süße Träume "live"', '-metadata', 'artist=The Testers', '-metadata', 'album=Fixtures', '-id3v2_version', '3', f,
  ]);
  const info = await probeAudio(f);
  assert.equal(info.tags.title, 'Süße Träume "live"');
  assert.equal(info.tags.artist, 'The Testers');
  assert.equal(info.tags.album, 'Fixtures');
  assert.equal(info.hasArtwork, true);
  const plain = await probeAudio(src);
  assert.equal(plain.hasArtwork, false);
  assert.deepEqual(plain.tags, {});
});

test('awkward file names: leading dash, protocol-like, unicode, spaces and quotes (decode and flac/mp3 writers)', async () => {
  const sub = path.join(dir, "Ordner mit Ümlaut & 'quotes' \"x\"");
  fs.mkdirSync(sub);
  const x = testSignal(5000);
  const cwd = process.cwd();
  process.chdir(sub); // relative names: what a user types on the command line
  try {
  for (const name of ['-starts-with-dash.flac', 'http:not-a-url #1.mp3', 'concat:a|b.wav', '日本語 ファイル.wav']) {
    const f = name;
    const format = name.endsWith('.flac') ? 'flac' : name.endsWith('.mp3') ? 'mp3' : 'wav';
    await writeAudio(f, x, SR, format);
    assert.ok(fs.existsSync(f), name);
    const info = await probeAudio(f);
    assert.equal(info.channels, 2, name);
    const y = await decodeAll(f, { sampleRate: SR, channels: 2 });
    assert.ok(Math.abs(y[0].length - 5000) < 2000, `${name}: ${y[0].length}`);
  }
  } finally {
    process.chdir(cwd);
  }
  assert.equal(fs.readdirSync(sub).length, 4, 'no temp files left');
});

test('screening: every clean format decodes against its probe with no warning (no false "cut off" or "damaged")', async () => {
  const files: string[] = [];
  for (const [name, codec] of [...lossless, ...lossy]) {
    const f = path.join(dir, `screen-${name}`);
    ffmpeg(['-i', src, ...codec, f]);
    files.push(f);
  }
  const video = path.join(dir, 'screen-video.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=2', '-i', src, '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-c:a', 'aac', video]);
  files.push(video);
  for (const f of files) {
    const report = newDecodeReport();
    const y = await decodeAll(f, { sampleRate: SR, channels: 2, expected: await probeAudio(f), report });
    assert.deepEqual(report.warnings, [], path.basename(f));
    assert.equal(report.frames, y[0].length);
    assert.equal(report.nonFinite, 0);
  }
});

test('screening: NaN and ±Infinity samples decode as 0 and are counted', async () => {
  const x = testSignal(10_000); // 0.23 s: long enough to separate
  x[0][10] = NaN;
  x[1][11] = Infinity;
  x[0][9999] = -Infinity;
  const f = path.join(dir, 'nonfinite.wav');
  await writeAudio(f, x, SR, 'wav'); // 32-bit float keeps them as they are
  const report = newDecodeReport();
  const y = await decodeAll(f, { sampleRate: SR, channels: 2, expected: await probeAudio(f), report });
  assert.equal(report.nonFinite, 3);
  assert.deepEqual([y[0][10], y[1][11], y[0][9999]], [0, 0, 0]);
  assert.ok(y.every((ch) => ch.every((v) => Number.isFinite(v))), 'all finite');
  assert.equal(y[0][12], Math.fround(x[0][12]), 'the rest is untouched');
  assert.deepEqual(
    report.warnings.map((w) => w.code),
    ['input-non-finite'],
  );
});
