/**
 * Export: chosen stems and mixdowns as WAV 16/24/32f, FLAC and MP3; the mixdown equals the mix of
 * the same mixer state computed here from the stems by the README's law (fader dB, solo/mute,
 * StereoPannerNode's equal-power pan), not by the export's own `mixdown()` (−120 dB, 32-bit float;
 * −80 dB after 24 bits); presets; NI Stems (.stem.mp4: five AAC streams + moov/udta/stem JSON, each
 * stem stream matched to its own stem by correlation); drag-out of every lane and of the mix.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { App } from '../../src-main/host/app.js';
import { exportSong, readStemAtom } from '../../src-main/engine/export.js';
import { readWavChunks, readWavInfo, encodeSamples, wavHeader } from '../../src-main/engine/output/wav.js';
import type { LaneMix, MixState } from '../../src-main/shared/mix-law.js';
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

function errDb(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
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

/**
 * One lane through GainNode(10^(dB/20)) → StereoPannerNode(pan) → master GainNode, by the Web Audio
 * spec's equal-power rule for a stereo input: pan ≤ 0: x = pan + 1, L = inL + inR·cos(xπ/2),
 * R = inR·sin(xπ/2); pan > 0: x = pan, L = inL·cos(xπ/2), R = inR + inL·sin(xπ/2).
 * Stereo planar [2][frames] in and out, float64.
 */
function lane(audio: Float32Array[], l: LaneMix, masterDb: number): Float64Array[] {
  const g = 10 ** (l.volumeDb / 20) * 10 ** (masterDb / 20);
  const x = l.pan <= 0 ? l.pan + 1 : l.pan;
  const c = Math.cos((x * Math.PI) / 2);
  const s = Math.sin((x * Math.PI) / 2);
  const [L, R] = audio;
  const out = [new Float64Array(L.length), new Float64Array(L.length)];
  for (let i = 0; i < L.length; i++) {
    out[0][i] = g * (l.pan <= 0 ? L[i] + R[i] * c : L[i] * c);
    out[1][i] = g * (l.pan <= 0 ? R[i] * s : R[i] + L[i] * s);
  }
  return out;
}

/** The mix of `stems` under `m`: any solo → only soloed lanes sound; mute wins. Planar [2][frames]. */
function lawMix(m: MixState): Float32Array[] {
  const solo = Object.values(m.lanes).some((l) => l.solo);
  const out = [new Float64Array(N), new Float64Array(N)];
  for (const st of stems) {
    const l = m.lanes[st.name];
    if (l.mute || (solo && !l.solo)) continue;
    const y = lane(st.audio, l, m.masterDb);
    for (let c = 0; c < 2; c++) for (let i = 0; i < N; i++) out[c][i] += y[c][i];
  }
  return out.map((c) => Float32Array.from(c));
}

/** Normalised correlation Σab / √(Σa²·Σb²) over both channels and the first n frames. */
function correlation(a: ArrayLike<number>[], b: ArrayLike<number>[], n: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let c = 0; c < 2; c++)
    for (let i = 0; i < n; i++) {
      ab += a[c][i] * b[c][i];
      aa += a[c][i] ** 2;
      bb += b[c][i] ** 2;
    }
  return ab / Math.sqrt(aa * bb);
}

/** A lane at unity gain, centre, sounding. */
const UNITY: LaneMix = { volumeDb: 0, pan: 0, mute: false, solo: false };
/** The canonical stems: every lane at unity, master 0 dB. */
const canonical = (): MixState => ({ masterDb: 0, lanes: Object.fromEntries(stems.map((s) => [s.name, { ...UNITY }])) });

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
  const expected = lawMix(mix);
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
  // instrumental: the canonical stems (unity gain, centre) without the vocals, whatever the mixer says
  const expected = lawMix({
    masterDb: 0,
    lanes: Object.fromEntries(stems.map((s) => [s.name, { ...UNITY, mute: s.name === 'vocals' }])),
  });
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
  // Stream 0 is the full mix; streams 1–4 are drums, bass, other, vocals: the canonical stems
  // (unity gain, centre), whatever the mixer says (its muted bass too).
  const master = await decodeAll(files[0].path, { sampleRate: 44100, channels: 2, stream: 0 });
  const expected = lawMix(canonical());
  const n = Math.min(expected[0].length, master[0].length);
  assert.ok(Math.abs(master[0].length - N) < 4096, `master length ${master[0].length}`);
  assert.ok(errDb(expected.map((c) => c.subarray(0, n)), master.map((c) => c.subarray(0, n))) < -20, 'master ≈ mixdown (AAC)');
  const order = ['drums', 'bass', 'other', 'vocals'];
  const open = Object.fromEntries(stems.map((s) => [s.name, lane(s.audio, UNITY, 0)]));
  for (const [k, name] of order.entries()) {
    const got = await decodeAll(files[0].path, { sampleRate: 44100, channels: 2, stream: k + 1 });
    const m = Math.min(N, got[0].length);
    const r = order.map((other) => correlation(got, open[other], m));
    assert.ok(r[k] > 0.99, `stream ${k + 1} vs ${name}: correlation ${r[k].toFixed(3)} (all: ${r.map((x) => x.toFixed(2)).join(', ')})`);
    for (const [j, other] of order.entries())
      if (j !== k) assert.ok(Math.abs(r[j]) < 0.1, `stream ${k + 1} (${name}) correlates ${r[j].toFixed(3)} with ${other}`);
    const e = errDb(open[name].map((c) => c.subarray(0, m)), got.map((c) => c.subarray(0, m)));
    assert.ok(e < -20, `stream ${k + 1} ≈ ${name} at unity gain, centre (AAC): ${e.toFixed(1)} dB`);
  }
  const none = fs.readdirSync(out).filter((x) => x.startsWith('.'));
  assert.deepEqual(none, []);
});

test('presets and NI Stems are made from the canonical stems, not the mixer; the current mix follows it (issue 14.2)', async () => {
  // the mixer: bass at −∞, vocals panned hard left
  const m: MixState = {
    masterDb: -6,
    lanes: Object.fromEntries(stems.map((s) => [s.name, { ...UNITY, volumeDb: s.name === 'bass' ? -200 : 0, pan: s.name === 'vocals' ? -1 : 0 }])),
  };
  const out = path.join(dir, 'canonical');
  const run = async (preset: 'acappella' | 'bassless' | null, format: 'wav32f' | 'ni-stems' = 'wav32f') =>
    (await exportSong({ stems, title: `P ${preset}`, select: [], mixdown: !preset, preset, mixer: m, format, outDir: out }))[0];
  // a cappella: the vocals stem as it is, both channels
  const acappella = await readAll((await run('acappella')).path);
  assert.ok(errDb(stems[0].audio, acappella) < -120, `a cappella = the vocals stem: ${errDb(stems[0].audio, acappella).toFixed(1)} dB`);
  // bassless: everything but the bass at unity, which is not the full mix
  const bassless = await readAll((await run('bassless')).path);
  const want = lawMix({ masterDb: 0, lanes: Object.fromEntries(stems.map((s) => [s.name, { ...UNITY, mute: s.name === 'bass' }])) });
  assert.ok(errDb(want, bassless) < -120, `bassless = Σ stems but bass: ${errDb(want, bassless).toFixed(1)} dB`);
  assert.ok(errDb(lawMix(canonical()), bassless) > -20, 'bassless differs from the full mix');
  // the current mix is the mixer's
  const current = await readAll((await run(null)).path);
  assert.ok(errDb(lawMix(m), current) < -120, 'current mix = the mixer state');
  // NI Stems: the bass stream is the bass stem, not silence
  const ni = await run(null, 'ni-stems');
  const bass = await decodeAll(ni.path, { sampleRate: 44100, channels: 2, stream: 2 });
  const e = errDb(stems[2].audio.map((c) => c.subarray(0, 44100)), bass.map((c) => c.subarray(0, 44100)));
  assert.ok(e < -20, `NI bass stream = the bass stem (AAC): ${e.toFixed(1)} dB`);
});

test('levels over full scale: 32-bit float keeps them, integer formats say how many they clip, normalise prevents it (issue 14.3)', async () => {
  // four stems at +9.5 dB: the mix peaks near 2.3 (+7 dBFS)
  const loud: MixState = { masterDb: 0, lanes: Object.fromEntries(stems.map((s) => [s.name, { ...UNITY, volumeDb: 9.5 }])) };
  const out = path.join(dir, 'loud');
  const run = async (format: 'wav32f' | 'wav16' | 'flac', normalize = false) =>
    (await exportSong({ stems, title: `L ${format} ${normalize}`, select: [], mixdown: true, preset: null, mixer: loud, format, outDir: out, normalize }))[0];
  const peakOf = (a: ArrayLike<number>[]) => Math.max(...a.map((c) => Array.from(c).reduce((p, v) => Math.max(p, Math.abs(v)), 0)));
  const want = peakOf(lawMix(loud));
  assert.ok(want > 1.5, `the test mix is over full scale: ${want}`);
  const f32 = await run('wav32f');
  assert.ok(Math.abs(peakOf(await readAll(f32.path)) - want) < 1e-5, '32-bit float keeps the peak over 1.0');
  assert.equal(f32.clipped, 0);
  assert.ok(Math.abs(f32.peak - want) < 1e-5, `reported peak ${f32.peak} vs ${want}`);
  const i16 = await run('wav16');
  assert.ok(i16.clipped > 1000, `16-bit reports clipped samples: ${i16.clipped}`);
  assert.ok(i16.peak > 1.5);
  const flac = await run('flac');
  assert.ok(flac.clipped > 1000, `FLAC reports clipped samples: ${flac.clipped}`);
  const norm = await run('wav16', true);
  assert.equal(norm.clipped, 0);
  assert.ok(Math.abs(norm.peak - 10 ** (-0.1 / 20)) < 1e-6, `normalised peak ${norm.peak}`);
  assert.ok(Math.abs(norm.gain - 10 ** (-0.1 / 20) / want) < 1e-6, `gain ${norm.gain}`);
  // the file: the mix scaled by that gain, nothing clipped
  const got = await readAll(norm.path);
  const scaledMix = lawMix(loud).map((c) => c.map((v) => v * norm.gain));
  assert.ok(errDb(scaledMix, got) < -60, `normalised 16-bit = the scaled mix: ${errDb(scaledMix, got).toFixed(1)} dB`);
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
    // The identity model's stems are all the input; give each lane its own tone in the library so
    // a drag-out of one lane that carries another lane's audio is caught.
    const song = app.library.get(job.songId!);
    const lanes: Record<string, Float32Array[]> = {};
    for (const [i, st] of song.stems.entries()) {
      const file = path.join(app.library.songDir(song.id), st.file);
      const { frames } = await readWavInfo(file);
      lanes[st.name] = tone(frames, 300 + 700 * i, i, 0.3);
      fs.writeFileSync(file, Buffer.concat([wavHeader('wav32f', 44100, 2, frames), encodeSamples('wav32f', lanes[st.name])]));
    }
    assert.deepEqual(Object.keys(lanes), ['vocals', 'other']);
    for (const name of Object.keys(lanes)) {
      const drag = await app.dragOut({ songId: job.songId!, target: name });
      assert.equal(drag.ref.root, 'dragout');
      assert.equal(drag.fileName, `Export Me - ${name[0].toUpperCase()}${name.slice(1)}.wav`);
      const info = await readWavInfo(drag.path);
      assert.equal(info.bitsPerSample, 24);
      const got = await readAll(drag.path);
      for (const other of Object.keys(lanes)) {
        const e = errDb(lanes[other], got);
        if (other === name) assert.ok(e < -80, `drag-out of ${name} = the ${name} stem: ${e.toFixed(1)} dB`);
        else assert.ok(e > -1, `drag-out of ${name} is not the ${other} stem: ${e.toFixed(1)} dB`);
      }
    }
    // the mix with vocals muted and other at −6 dB panned right: other's lane alone
    const dragMix: MixState = {
      masterDb: 0,
      lanes: { vocals: { volumeDb: 0, pan: 0, mute: true, solo: false }, other: { volumeDb: -6, pan: 0.5, mute: false, solo: false } },
    };
    const mixFile = await app.dragOut({ songId: job.songId!, target: 'mixdown', mixer: dragMix });
    const e = errDb(lane(lanes.other, dragMix.lanes.other, 0), await readAll(mixFile.path));
    assert.ok(e < -80, `drag-out of the mix = the other lane at −6 dB, pan 0.5: ${e.toFixed(1)} dB`);
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
