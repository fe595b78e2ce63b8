/**
 * `stemdeck eval` on the real clip (../shared/eval/musdb18-7s), and the cSDR implementation
 * against museval's own per-frame figures on the same clip (recorded from museval 0.4.1 by
 * test/cli/museval_check.py; see src-main/engine/metrics.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeAll } from '../../src-main/engine/decode.js';
import { findTracks, oracleIrm } from '../../src-main/engine/eval.js';
import { bssEvalV4Sdr, nanMedian } from '../../src-main/engine/metrics.js';
import { clipDir, ffmpeg, fixtureModel, makeAudio, realClip, repoRoot, runCli, tempDir } from './helpers.js';

const STEMS = ['vocals', 'drums', 'bass', 'other'] as const;
/** ../shared/eval/musdb18-7s/README.md */
const TABLE = {
  floor: { vocals: -1.63, drums: -4.17, bass: -6.77, other: -7.85 },
  oracle: { vocals: 15.31, drums: 12.47, bass: 10.55, other: 10.26 },
};
/** museval 0.4.1 `evaluate(refs, ests, win=44100, hop=44100, mode='v4')` SDR frames on the clip. */
const MUSEVAL = {
  floor: {
    vocals: [-3.7471, -3.4765, 0.695, 0.0079, -2.6343, -3.164],
    drums: [-2.6458, -3.6387, -5.7958, -6.0568, -2.795, -2.6594],
    bass: [-6.5526, -4.973, -7.0809, -7.1969, -7.3037, -6.7954],
    other: [-7.3374, -8.1809, -9.8747, -7.562, -7.5096, -7.1061],
  },
  oracle: {
    vocals: [14.1594, 15.2, 15.6104, 16.4289, 14.4447, 14.8223],
    drums: [14.8362, 14.4789, 12.7645, 11.1309, 12.2074, 11.3202],
    bass: [12.3334, 13.6024, 11.5998, 10.1872, 9.137, 8.5529],
    other: [10.6313, 11.22, 7.5907, 11.0277, 10.3556, 10.8735],
  },
};
const STREAM = { drums: 1, bass: 2, other: 3, vocals: 4 } as const;

test('cSDR (bssEvalV4Sdr) matches museval per frame on the real clip: mixture and oracle estimates', async () => {
  const load = (stream: number): Promise<Float32Array[]> => decodeAll(realClip, { sampleRate: 44100, channels: 2, stream });
  const mix = await load(0);
  const refs: Record<string, Float32Array[]> = {};
  for (const s of STEMS) refs[s] = await load(STREAM[s]);
  const floor = bssEvalV4Sdr(
    STEMS.map((s) => refs[s]),
    STEMS.map(() => mix),
  );
  const oracle = oracleIrm(mix, refs);
  const orc = bssEvalV4Sdr(
    STEMS.map((s) => refs[s]),
    STEMS.map((s) => oracle[s]),
  );
  STEMS.forEach((s, j) => {
    assert.equal(floor[j].length, 6);
    floor[j].forEach((v, t) => assert.ok(Math.abs(v - MUSEVAL.floor[s][t]) < 1e-3, `floor ${s} frame ${t}: ${v} vs museval ${MUSEVAL.floor[s][t]}`));
    // our oracle estimate comes from the float32 STFT (museval's from numpy float64): 0.01 dB
    orc[j].forEach((v, t) => assert.ok(Math.abs(v - MUSEVAL.oracle[s][t]) < 0.01, `oracle ${s} frame ${t}: ${v} vs museval ${MUSEVAL.oracle[s][t]}`));
    assert.ok(Math.abs(nanMedian(floor[j]) - nanMedian(MUSEVAL.floor[s])) < 1e-3);
  });
});

test('eval --model none on the real clip reproduces the README table (floor and oracle, 0.05 dB)', async () => {
  const r = await runCli(['eval', '--dataset', clipDir, '--model', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.length, 1);
  const rep = r.json[0] as { model: null; tracks: number; stems: Record<string, Record<string, number | null>> };
  assert.equal(rep.model, null);
  assert.equal(rep.tracks, 1);
  assert.deepEqual(Object.keys(rep.stems), [...STEMS]);
  for (const s of STEMS) {
    const x = rep.stems[s];
    assert.ok(Math.abs((x.floor as number) - TABLE.floor[s]) < 0.05, `floor ${s}: ${x.floor}`);
    assert.ok(Math.abs((x.oracle as number) - TABLE.oracle[s]) < 0.05, `oracle ${s}: ${x.oracle}`);
    assert.equal(x.sdr, null);
    assert.equal(x.csdr, null);
  }
});

/**
 * The default model's own figures on this clip, from its manifest (`metrics["musdb18-7s"].sdr`,
 * the numbers on its model card), so the floor follows whichever model is the default.
 */
function defaultModelClipSdr(): { id: string; sdr: Record<string, number> } {
  const models = path.join(repoRoot, 'resources', 'models');
  const id = (JSON.parse(fs.readFileSync(path.join(models, 'index.json'), 'utf8')) as { default: string }).default;
  const manifest = JSON.parse(fs.readFileSync(path.join(models, id, 'manifest.json'), 'utf8')) as {
    metrics?: Record<string, { sdr?: Record<string, number> }>;
  };
  const sdr = manifest.metrics?.['musdb18-7s']?.sdr;
  assert.ok(sdr, `the default model ${id} has no metrics["musdb18-7s"].sdr in its manifest: measure it (npm run metrics)`);
  return { id, sdr };
}
/** How far (dB) below its recorded whole-track SDR a stem may score before the test fails. */
const SDR_TOLERANCE_DB = 0.3;

test('eval with the default model on the real clip: each stem scores its recorded SDR (a swapped or silent stem fails)', async () => {
  const expected = defaultModelClipSdr();
  const r = await runCli(['eval', '--dataset', clipDir, '--json', '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  const rep = r.json[0] as { model: string; tracks: number; stems: Record<string, Record<string, number>> };
  assert.equal(rep.model, expected.id);
  assert.equal(rep.tracks, 1);
  for (const s of STEMS) {
    const x = rep.stems[s];
    assert.deepEqual(Object.keys(x).sort(), ['csdr', 'floor', 'oracle', 'sdr', 'sisdr']);
    for (const k of ['sdr', 'csdr', 'sisdr'] as const) assert.ok(Number.isFinite(x[k]), `${s}.${k} = ${x[k]}`);
    assert.ok(x.sdr < x.oracle + 1, `${s}: a model beating the masking oracle by > 1 dB is suspicious`);
    assert.equal(typeof expected.sdr[s], 'number', `${expected.id}'s manifest records no ${s} SDR`);
    const floor = expected.sdr[s] - SDR_TOLERANCE_DB;
    assert.ok(x.sdr >= floor, `${s}: SDR ${x.sdr.toFixed(2)} dB < ${floor.toFixed(2)} dB (${expected.id}'s recorded ${expected.sdr[s]} dB − ${SDR_TOLERANCE_DB})`);
  }
  console.log(`# ${rep.model} on the real clip, SDR dB: ${STEMS.map((s) => `${s} ${rep.stems[s].sdr.toFixed(2)}`).join(', ')}`);
});

test('eval finds track folders (mixture + stem files) and reports errors for an empty dataset', async () => {
  const dir = tempDir();
  const track = path.join(dir, 'musdb-hq', 'test', 'Song A');
  fs.mkdirSync(track, { recursive: true });
  makeAudio(path.join(track, 'vocals.wav'), 44_100 * 2);
  makeAudio(path.join(track, 'drums.flac'), 44_100 * 2, 44100, 1);
  // mixture = vocals + drums (old ffmpeg builds have no amix normalize=0: sum with amerge + pan)
  ffmpeg(['-i', path.join(track, 'vocals.wav'), '-i', path.join(track, 'drums.flac'), '-filter_complex',
    '[1]pan=stereo|c0=c0|c1=c0[d];[0][d]amerge=inputs=2,pan=stereo|c0=c0+c2|c1=c1+c3', '-c:a', 'pcm_f32le', path.join(track, 'mixture.wav')]);
  // a DSD100-style accompaniment file beside the stems is ignored (it overlaps them)
  fs.copyFileSync(path.join(track, 'drums.flac'), path.join(track, 'accompaniment.flac'));
  const tracks = findTracks(path.join(dir, 'musdb-hq'));
  assert.equal(tracks.length, 1);
  assert.deepEqual(Object.keys(tracks[0].stems).sort(), ['drums', 'vocals']);
  const r = await runCli(['eval', '--dataset', path.join(dir, 'musdb-hq'), '--model', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = r.json[0] as { tracks: number; stems: Record<string, { oracle: number; floor: number }> };
  assert.equal(rep.tracks, 1);
  assert.deepEqual(Object.keys(rep.stems), ['vocals', 'drums']);
  // two sources of similar power: the floor is near 0 dB, the oracle well above it
  for (const s of ['vocals', 'drums']) {
    assert.ok(Math.abs(rep.stems[s].floor) < 6, String(rep.stems[s].floor));
    assert.ok(rep.stems[s].oracle > rep.stems[s].floor + 5);
  }

  const empty = tempDir();
  const bad = await runCli(['eval', '--dataset', empty, '--model', 'none', '--json']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /No tracks found/);
  assert.equal(typeof bad.json[0].error, 'string');
});

test('a stem that is silent in a track (a song without drums) is left out of that stem\'s means', async () => {
  // Song A: vocals + drums; Song B: the same vocals, drums all zeros. Against silence every
  // estimate scores ≈ −85 dB, which would drag the mean down by ~40 dB and say nothing of the model.
  const dir = tempDir();
  const mk = (name: string, silentDrums: boolean): void => {
    const track = path.join(dir, 'set', name);
    fs.mkdirSync(track, { recursive: true });
    makeAudio(path.join(track, 'vocals.wav'), 44_100 * 2);
    if (silentDrums) ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '2', '-c:a', 'pcm_f32le', path.join(track, 'drums.wav')]);
    else ffmpeg(['-f', 'lavfi', '-i', 'sine=f=97:r=44100', '-t', '2', '-ac', '2', '-c:a', 'pcm_f32le', path.join(track, 'drums.wav')]);
    ffmpeg(['-i', path.join(track, 'vocals.wav'), '-i', path.join(track, 'drums.wav'), '-filter_complex',
      '[0][1]amerge=inputs=2,pan=stereo|c0=c0+c2|c1=c1+c3', '-c:a', 'pcm_f32le', path.join(track, 'mixture.wav')]);
  };
  mk('Song A', false);
  mk('Song B', true);
  const r = await runCli(['eval', '--dataset', path.join(dir, 'set'), '--model', 'none', '--json', '--per-track']);
  assert.equal(r.code, 0, r.stderr);
  const rep = r.json[0] as {
    stems: Record<string, { oracle: number; floor: number }>;
    perTrack: { name: string; stems: Record<string, { oracle: number; floor: number; silent?: boolean }> }[];
  };
  const a = rep.perTrack.find((t) => t.name === 'Song A')!;
  const b = rep.perTrack.find((t) => t.name === 'Song B')!;
  assert.equal(b.stems.drums.silent, true);
  assert.equal(a.stems.drums.silent, undefined);
  assert.equal(a.stems.vocals.silent, undefined);
  assert.ok(b.stems.drums.floor < -60, `silent reference: floor ${b.stems.drums.floor}`);
  // drums: Song A's figures alone; vocals: the mean of both
  assert.equal(rep.stems.drums.floor, a.stems.drums.floor);
  assert.equal(rep.stems.drums.oracle, a.stems.drums.oracle);
  assert.ok(Math.abs(rep.stems.vocals.floor - (a.stems.vocals.floor + b.stems.vocals.floor) / 2) < 1e-3); // (4-decimal rounding)
});

test('eval of a two-stem model (vocals + accompaniment): accompaniment scored against drums + bass + other', async () => {
  // the identity fixture re-labelled as a vocals/accompaniment model: each stem = the mixture
  const dir = tempDir();
  const src = path.join(path.dirname(fixtureModel('identity-waveform')));
  fs.cpSync(src, path.join(dir, 'm'), { recursive: true });
  const manifestPath = path.join(dir, 'm', 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(manifestPath, JSON.stringify({ ...manifest, id: 'identity-two-stem', stems: ['vocals', 'accompaniment'] }));
  const r = await runCli(['eval', '--dataset', realClip, '--model', manifestPath, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = r.json[0] as { model: string; stems: Record<string, { sdr: number; csdr: number; oracle: number; floor: number }> };
  assert.equal(rep.model, 'identity-two-stem');
  assert.deepEqual(Object.keys(rep.stems), ['vocals', 'drums', 'bass', 'other', 'accompaniment']);
  for (const s of ['vocals', 'accompaniment']) {
    const x = rep.stems[s];
    // the estimate is the mixture, so its SDR is the floor
    assert.ok(Math.abs(x.sdr - x.floor) < 0.01, `${s}: sdr ${x.sdr} vs floor ${x.floor}`);
    assert.ok(x.oracle > x.floor + 5);
  }
  // accompaniment = mixture − vocals: its floor is the vocals' power ratio seen from the other side (> 0 dB here)
  assert.ok(rep.stems.accompaniment.floor > 0, String(rep.stems.accompaniment.floor));
  assert.equal((rep.stems.drums as { sdr: number | null }).sdr, null);
});
