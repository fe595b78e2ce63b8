/**
 * Export: chosen stems and mixdowns as WAV 16/24/32f, FLAC and MP3; the mixdown equals the shared
 * mix law's offline mix of the same mixer state (−60 dB, 32-bit float; −80 dB after FLAC's 24 bits);
 * presets; NI Stems (.stem.mp4: five AAC streams + moov/udta/stem JSON); drag-out files.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { App } from '../../src-main/host/app.js';
import { exportSong, readStemAtom } from '../../src-main/engine/export.js';
import { readWavChunks, readWavInfo, encodeSamples, wavHeader } from '../../src-main/engine/output/wav.js';
import { mixdown, applyPreset, type MixState } from '../../src-main/shared/mix-law.js';
import { locateFfmpeg } from '../../src-main/engine/ffmpeg.js';
import { decodeAll } from '../../src-main/engine/decode.js';
import { isolatedHome, tempDir, makeSong, waitJobEnd } from './helpers.js';

let dir = '';
const N = 44100 * 3 + 123;
const stems: { name: string; file: string; audio: Float32Array[] }[] = [];

function tone(n: number, f: number, phase: number, amp: number): Float32Array[] {
  const l = new Float32Array(n);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    l[i] = amp * Math.sin((2 * Math.PI * f * i) / 44100 + phase);
    r[i] = amp * 0.7 * Math.sin((2 * Math.PI * f * 1.5 * i) / 44100);
  }
  return [l, r];
}

async function readAll(file: string): Promise<Float32Array[]> {
  const parts: Float32Array[][] = [];
  for await (const c of readWavChunks(file)) parts.push(c);
  const n = parts.reduce((s, c) => s + c[0].length, 0);
  const out = parts[0].map(() => new Float32Array(n));
  let off = 0;
  for (const c of parts) {
    c.forEach((ch, k) => out[k].set(ch, off));
    off += c[0].length;
  }
  return out;
}

function errDb(a: Float32Array[], b: Float32Array[]): number {
  let e = 0;
  let p = 0;
  for (let c = 0; c < a.length; c++)
    for (let i = 0; i < a[c].length; i++) {
      const d = a[c][i] - (b[c]?.[i] ?? 0);
      e += d * d;
      p += a[c][i] * a[c][i];
    }
  return 10 * Math.log10(e / p);
}

const mix: MixState = {
  masterDb: -3,
  lanes: {
    vocals: { volumeDb: 2, pan: -0.4, mute: false, solo: false },
    drums: { volumeDb: -6, pan: 0.7, mute: false, solo: false },
    bass: { volumeDb: 0, pan: 0, mute: true, solo: false },
    other: { volumeDb: -12, pan: 1, mute: false, solo: false },
  },
};

before(() => {
  isolatedHome();
  dir = tempDir('stemdeck-export-');
  const specs: [string, number][] = [
    ['vocals', 440],
    ['drums', 97],
    ['bass', 55],
    ['other', 1500],
  ];
  for (const [i, [name, f]] of specs.entries()) {
    const audio = tone(N, f, i, 0.2);
    const file = path.join(dir, `${name}.wav`);
    fs.writeFileSync(file, Buffer.concat([wavHeader('wav32f', 44100, 2, N), encodeSamples('wav32f', audio)]));
    stems.push({ name, file, audio });
  }
});

test('mixdown (wav32f) equals the mix law offline mix; wav16/24 within their precision', async () => {
  const expected = mixdown(
    stems.map((s) => ({ stem: s.name, audio: s.audio })),
    mix,
  );
  for (const [format, limit] of [
    ['wav32f', -120],
    ['wav24', -80],
    ['wav16', -60],
  ] as const) {
    const out = path.join(dir, format);
    const files = await exportSong({ stems, title: 'Song: "A/B"', select: [], mixdown: true, preset: null, mixer: mix, format, outDir: out });
    assert.equal(files.length, 1);
    assert.equal(files[0].name, 'Song_ _A_B_ (Mix).wav');
    const info = await readWavInfo(files[0].path);
    assert.equal(info.frames, N);
    assert.equal(info.bitsPerSample, format === 'wav16' ? 16 : format === 'wav24' ? 24 : 32);
    const got = await readAll(files[0].path);
    const e = errDb(expected, got);
    assert.ok(e < limit, `${format}: ${e.toFixed(1)} dB`);
    assert.deepEqual(
      fs.readdirSync(out).filter((n) => n.startsWith('.')),
      [],
    );
  }
});

test('stems + preset as FLAC and MP3 (decoded by ffmpeg)', async () => {
  const out = path.join(dir, 'flac');
  const files = await exportSong({ stems, title: 'T', select: ['vocals', 'bass'], mixdown: false, preset: 'instrumental', mixer: mix, format: 'flac', outDir: out });
  assert.deepEqual(
    files.map((f) => f.name),
    ['T - Vocals.flac', 'T - Bass.flac', 'T (Instrumental).flac'],
  );
  const vocals = await decodeAll(files[0].path, { sampleRate: 44100, channels: 2 });
  assert.ok(errDb(stems[0].audio, vocals) < -80);
  const inst = await decodeAll(files[2].path, { sampleRate: 44100, channels: 2 });
  const expected = mixdown(
    stems.map((s) => ({ stem: s.name, audio: s.audio })),
    applyPreset(mix, 'instrumental', ['vocals', 'drums', 'bass', 'other']),
  );
  assert.ok(errDb(expected, inst) < -80);
  const mp3 = await exportSong({ stems, title: 'T', select: [], mixdown: true, preset: null, mixer: mix, format: 'mp3', outDir: path.join(dir, 'mp3') });
  const probe = spawnSync(locateFfmpeg().path, ['-hide_banner', '-i', mp3[0].path], { encoding: 'utf8' });
  assert.match(probe.stderr, /Audio: mp3.*44100 Hz.*320 kb\/s/s);
});

test('NI Stems: five AAC streams, stem metadata box, master first', async () => {
  const out = path.join(dir, 'ni');
  const files = await exportSong({ stems, title: 'DJ Tool', tags: { artist: 'Me' }, select: [], mixdown: false, preset: null, mixer: mix, format: 'ni-stems', outDir: out });
  assert.equal(files.length, 1);
  assert.equal(files[0].name, 'DJ Tool.stem.mp4');
  const probe = spawnSync(locateFfmpeg().path, ['-hide_banner', '-i', files[0].path], { encoding: 'utf8' }).stderr;
  const streams = probe.match(/Stream #0:\d+.*Audio: aac/g) ?? [];
  assert.equal(streams.length, 5, probe);
  const meta = (await readStemAtom(files[0].path)) as { stems: { name: string; color: string }[]; version: number; mastering_dsp: object };
  assert.equal(meta.version, 1);
  assert.deepEqual(
    meta.stems.map((s) => s.name),
    ['Drums', 'Bass', 'Other', 'Vocals'],
  );
  assert.ok(meta.mastering_dsp);
  for (const s of meta.stems) assert.match(s.color, /^#[0-9A-F]{6}$/i);
  // The master track is the mixdown; stream 4 (vocals) is the vocal stem at its fader/pan.
  const master = await decodeAll(files[0].path, { sampleRate: 44100, channels: 2, stream: 0 });
  const expected = mixdown(
    stems.map((s) => ({ stem: s.name, audio: s.audio })),
    mix,
  );
  const n = Math.min(expected[0].length, master[0].length);
  assert.ok(Math.abs(master[0].length - N) < 4096, `master length ${master[0].length}`);
  assert.ok(errDb(expected.map((c) => c.subarray(0, n)), master.map((c) => c.subarray(0, n))) < -20, 'master ≈ mixdown (AAC)');
  const none = fs.readdirSync(out).filter((x) => x.startsWith('.'));
  assert.deepEqual(none, []);
});

test('export.run and dragout.prepare through the app with a real separated song', async () => {
  const app = new App({ shell: 'browser' });
  await app.start();
  try {
    await app.settings.set({ model: 'identity-waveform' });
    const src = makeSong(path.join(dir, 'src.wav'), 3, 'Export Me');
    app.guard.choose(src);
    const r = await app.openFiles([src], undefined);
    const job = await waitJobEnd(app, r.jobs[0].id);
    assert.equal(job.status, 'done');
    const res = await app.exportRun({ songId: job.songId!, stems: ['vocals'], mixdown: true, preset: null, format: 'wav24' });
    assert.equal(res.files.length, 2);
    for (const f of res.files) {
      assert.equal(f.ref?.root, 'exports');
      assert.equal(app.guard.resolveMedia(f.ref!), fs.realpathSync(f.path));
    }
    const drag = await app.dragOut({ songId: job.songId!, target: 'vocals' });
    assert.equal(drag.ref.root, 'dragout');
    assert.equal(drag.fileName, 'Export Me - Vocals.wav');
    const info = await readWavInfo(drag.path);
    assert.equal(info.bitsPerSample, 24);
    const mixFile = await app.dragOut({ songId: job.songId!, target: 'mixdown', mixer: { masterDb: 0, lanes: { vocals: { volumeDb: 0, pan: 0, mute: true, solo: false } } } });
    assert.ok(fs.statSync(mixFile.path).size > 1000);
    // Chosen export folder outside the allowed ones is refused; a chosen one works.
    const target = tempDir('stemdeck-target-');
    await assert.rejects(app.exportRun({ songId: job.songId!, stems: ['vocals'], mixdown: false, preset: null, format: 'wav16', outDir: target }), /may not access/);
    app.guard.choose(target);
    const ok = await app.exportRun({ songId: job.songId!, stems: ['vocals'], mixdown: false, preset: null, format: 'wav16', outDir: target });
    assert.equal(path.dirname(ok.files[0].path), fs.realpathSync(target));
    assert.equal(ok.files[0].ref, null);
  } finally {
    await app.stop();
  }
});
