/**
 * `stemdeck separate` writes DAW-ready WAV stems (issue 15.2), through the real bin, ffmpeg and ONNX
 * Runtime (identity fixture model) on a song with known answers (120 BPM, A minor):
 * - every WAV stem carries an acid chunk (tempo, root note A) and a bext description, read back by
 *   our reader and by independent ones: libsndfile's sndfile-info (acid), ffprobe (bext, and that
 *   the file still reads: rate, length) and sox (length): no broken headers;
 * - FLAC and MP3 stems carry the tempo and key as tags (Vorbis BPM/INITIALKEY, ID3v2 TBPM as a
 *   whole number/TKEY), though ffmpeg wrote its tags before the analysis knew them: read back by
 *   ffmpeg's demuxers (and ffprobe where installed), the stems still exactly the input's length;
 * - --name-pattern names the stems "Song - Vocals - 120 BPM - A min.wav"; a later run into the
 *   same folder knows those files for its own (the folder's record) and replaces them;
 * - a bad pattern stops before any work (exit 2) and says how to write one.
 * The independent readers are Debian packages (.ci/run installs them); without them their checks
 * are skipped, except under CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixtureModel, runCli, tempDir } from './helpers.js';
import { songIn120AMinor } from '../analysis/signals.js';
import { readWavInfo } from '../../src-main/engine/output/wav.js';
import { readWavMetadata } from '../../src-main/engine/output/wav-metadata.js';
import { decodeSamples, readAudioTags } from '../engine/audio-tags.js';

const model = fixtureModel('identity-waveform');
const SR = 44100;
const FRAMES = 16 * SR;

/** An independent reader on PATH, or null (a skipped check) when it is missing outside CI. */
function tool(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.trim() : null;
  if (!found && process.env.CI === 'true') assert.fail(`${name} is missing (.ci/run installs it)`);
  return found;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

/** What independent readers say about a WAV stem: it reads, at 44.1 kHz, FRAMES long; its tempo and description. */
function checkWithOtherReaders(file: string, description: string): void {
  const ffprobe = tool('ffprobe');
  if (ffprobe) {
    const out = JSON.parse(run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file])) as {
      streams: { sample_rate: string; duration_ts?: number; duration: string }[];
      format: { tags?: Record<string, string> };
    };
    assert.equal(out.streams[0].sample_rate, String(SR), 'ffprobe: rate');
    assert.ok(Math.abs(Number(out.streams[0].duration) - FRAMES / SR) < 1e-3, `ffprobe: ${out.streams[0].duration} s`);
    assert.equal(out.format.tags?.comment, description, 'ffprobe reads the bext description');
  }
  const soxi = tool('soxi');
  if (soxi) assert.equal(run(soxi, ['-s', file]).trim(), String(FRAMES), 'sox: frames');
  const sndfileInfo = tool('sndfile-info');
  if (sndfileInfo) {
    const info = run(sndfileInfo, [file]);
    assert.match(info, /acid : 24/, 'libsndfile finds the acid chunk');
    assert.match(info, /Tempo\s*: 1(19|20|21)\.\d+/, 'libsndfile: tempo');
    assert.match(info, /Root note : 0x45/, 'libsndfile: root note A4 (MIDI 69)');
    assert.match(info, /Meter\s*: 4\/4/);
    assert.match(info, /RootNoteValid/);
    assert.match(info, /Frames\s*: 705600/);
  }
}

test('WAV stems carry tempo and key (acid) and a bext description; ffprobe, sox and libsndfile read them', async () => {
  const dir = tempDir('stemdeck-daw-cli-');
  const input = songIn120AMinor(dir);
  const out = path.join(dir, 'out');
  const r = await runCli(['separate', input, '--model', model, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const line = r.json[0] as { tempo: number; key: string; outputs: Record<string, string> };
  assert.equal(line.key, 'A minor');
  assert.deepEqual(fs.readdirSync(path.join(out, 'Song in A minor')).sort(), ['other.wav', 'vocals.wav'], 'default names as before');
  for (const [stem, file] of Object.entries(line.outputs)) {
    const m = await readWavMetadata(file);
    assert.ok(m.acid, `${stem}: acid chunk`);
    assert.equal(m.acid.tempo, Math.fround(line.tempo), 'the tempo --json reports');
    assert.ok(Math.abs(m.acid.tempo - 120) <= 2.4, `tempo ${m.acid.tempo}`);
    assert.equal(m.acid.rootNote, 69, 'root note A');
    assert.equal(m.acid.oneShot, false);
    assert.deepEqual(m.acid.meter, [4, 4]);
    assert.equal(m.acid.beats, Math.round((16 * m.acid.tempo) / 60));
    const label = stem[0].toUpperCase() + stem.slice(1);
    const description = `Stemdeck: ${label}, ${line.tempo} BPM, A minor, model identity-waveform`;
    assert.equal(m.bext?.description, description);
    assert.deepEqual(m.chunks.slice(-3), ['bext', 'acid', 'data'], 'metadata before the samples');
    assert.equal((await readWavInfo(file)).frames, FRAMES);
    checkWithOtherReaders(file, description);
  }
});

test('FLAC and MP3 stems carry tempo and key tags (BPM/INITIALKEY; ID3v2 TBPM whole, TKEY) and keep every sample', async () => {
  const dir = tempDir('stemdeck-daw-tags-');
  const input = songIn120AMinor(dir);
  const cases = [
    { format: 'flac', tempoTag: 'BPM', keyTag: 'INITIALKEY', bpm: (t: number) => String(t) },
    { format: 'mp3', tempoTag: 'TBPM', keyTag: 'TKEY', bpm: (t: number) => String(Math.round(t)) },
  ];
  for (const c of cases) {
    const out = path.join(dir, `out-${c.format}`);
    const r = await runCli(['separate', input, '--model', model, '--out', out, '--format', c.format, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /tag/i, 'no tagging warning');
    const line = r.json[0] as { tempo: number; key: string; outputs: Record<string, string> };
    assert.ok(Math.abs(line.tempo - 120) <= 2.4, `tempo ${line.tempo}`);
    assert.equal(line.key, 'A minor');
    assert.deepEqual(fs.readdirSync(path.join(out, 'Song in A minor')).sort(), [`other.${c.format}`, `vocals.${c.format}`], 'no temp file left');
    for (const [stem, file] of Object.entries(line.outputs)) {
      const tags = readAudioTags(file);
      assert.equal(tags[c.tempoTag], c.bpm(line.tempo), `${stem}.${c.format}: ${c.tempoTag} in ${JSON.stringify(tags)}`);
      assert.equal(tags[c.keyTag], 'Am', `${stem}.${c.format}: ${c.keyTag}`);
      assert.equal(decodeSamples(file).length, FRAMES * 2 * 4, `${stem}.${c.format}: every frame, no more`);
      const ffprobe = tool('ffprobe');
      if (ffprobe) {
        const probed = JSON.parse(run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', file])) as { format: { tags?: Record<string, string> } };
        assert.equal(probed.format.tags?.[c.tempoTag], c.bpm(line.tempo), `ffprobe: ${c.tempoTag}`);
        assert.equal(probed.format.tags?.[c.keyTag], 'Am', `ffprobe: ${c.keyTag}`);
      }
    }
  }
});

test('--name-pattern: "Song - Vocals - 120 BPM - A min.wav"; the next run into that folder replaces them; a bad pattern is refused', async () => {
  const dir = tempDir('stemdeck-daw-names-');
  const input = songIn120AMinor(dir, 'Night Drive.flac');
  const out = path.join(dir, 'out');
  const song = path.join(out, 'Night Drive');
  const named = await runCli(['separate', input, '--model', model, '--out', out, '--format', 'wav16', '--name-pattern', '{song} - {stem}[ - {bpm} BPM][ - {key}]', '--json']);
  assert.equal(named.code, 0, named.stderr);
  const bpm = (named.json[0] as { tempo: number }).tempo;
  const want = [`Night Drive - Other - ${bpm} BPM - A min.wav`, `Night Drive - Vocals - ${bpm} BPM - A min.wav`];
  assert.deepEqual(fs.readdirSync(song).filter((n) => !n.startsWith('.')).sort(), want);
  assert.deepEqual(Object.values((named.json[0] as { outputs: Record<string, string> }).outputs).map((p) => path.basename(p)).sort(), want);
  const m = await readWavMetadata(path.join(song, want[1]));
  assert.equal(m.acid?.rootNote, 69, '16-bit stems carry it too');

  // a run with the default names replaces the named stems (its own files, by the folder's record)
  const plain = await runCli(['separate', input, '--model', model, '--out', out, '--json']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(fs.readdirSync(song).filter((n) => !n.startsWith('.')).sort(), ['other.wav', 'vocals.wav']);

  // a file the user put there is still refused
  fs.writeFileSync(path.join(song, 'Night Drive - Vocals - 120 BPM - A min.wav'), 'mine');
  const refused = await runCli(['separate', input, '--model', model, '--out', out, '--json']);
  assert.equal(refused.code, 1);
  assert.match(String(refused.json[0].error), /files Stemdeck did not write/);

  for (const bad of ['{song}', '{stem} {tempo}']) {
    const r = await runCli(['separate', input, '--model', model, '--out', path.join(dir, 'bad'), '--name-pattern', bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /name pattern .* \{song\} \{stem\} \{bpm\} \{key\}/);
    assert.equal(fs.existsSync(path.join(dir, 'bad')), false, 'nothing written');
  }
});
