/**
 * DAW metadata and names (issue 15.2), at the unit level:
 * - the acid chunk has libsndfile's 24-byte layout (tempo f32 at 20, root note u16 at 4, beats at 12,
 *   meter 4/4), the bext chunk EBU's 602 bytes with the description; both sit before `data`, in RIFF
 *   and in RF64 (ds64 stays the first chunk);
 * - the stem writer learns the tempo at the end and patches it in place (same header length);
 *   FLAC and MP3 writers add it as tags (Vorbis BPM/INITIALKEY, ID3v2 TBPM/TKEY) after the encoder
 *   has written its own, with the same samples; a failure to add them keeps the file and is kept
 *   for the job's warnings (missingTags, not console output);
 * - name patterns: tokens, optional [groups], sanitising and cutting the title, refused patterns;
 * - the streaming tempo/key analysis equals the whole-signal one bit for bit, whatever the chunks.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWavHeader, readWavInfo, readWavChunks } from '../../src-main/engine/output/wav.js';
import { metadataChunks, METADATA_BYTES, parseAcid, parseBext, parseKeyName, readWavMetadata, describeStem } from '../../src-main/engine/output/wav-metadata.js';
import { createStemWriter, missingTagsWarning } from '../../src-main/engine/writers.js';
import { parseNamePattern, patternFileName, DAW_NAME_PATTERN } from '../../src-main/engine/output/name-pattern.js';
import { nameLength, NAME_MAX } from '../../src-main/engine/output/file-names.js';
import { analyzeMixture, MusicAnalyzer } from '../../src-main/engine/analysis/index.js';
import { StemdeckError } from '../../src-main/engine/errors.js';
import { decodeSamples, readAudioTags } from './audio-tags.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stemdeck-daw-meta-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function chunkIds(h: Buffer): string[] {
  const ids: string[] = [];
  for (let o = 12; o + 8 <= h.length; ) {
    const id = h.toString('latin1', o, o + 4);
    ids.push(id);
    if (id === 'data') break;
    const size = h.readUInt32LE(o + 4);
    o += 8 + size + (size % 2);
  }
  return ids;
}

test('acid: libsndfile field order, tempo, root note (A = MIDI 69), beats, 4/4; bext: the description, TimeReference 0', () => {
  const SR = 44100;
  const frames = 16 * SR; // 16 s at 120 BPM = 32 beats
  const block = metadataChunks({ label: 'Vocals', tempo: 120, key: 'A minor', model: 'spleeter-demucs-v1' }, frames, SR);
  assert.equal(block.length, METADATA_BYTES);
  assert.equal(block.toString('latin1', 0, 4), 'bext');
  assert.equal(block.readUInt32LE(4), 602);
  const bext = parseBext(block.subarray(8, 8 + 602));
  assert.equal(bext.description, 'Stemdeck: Vocals, 120 BPM, A minor, model spleeter-demucs-v1');
  assert.equal(bext.originator, 'Stemdeck');
  assert.equal(bext.timeReference, 0n);
  const at = 8 + 602;
  assert.equal(block.toString('latin1', at, at + 4), 'acid');
  assert.equal(block.readUInt32LE(at + 4), 24);
  const p = block.subarray(at + 8, at + 32);
  // the raw layout, field by field (libsndfile reads "422f" then "422f")
  assert.equal(p.readUInt32LE(0) & 0x01, 0, 'not a one-shot');
  assert.equal(p.readUInt32LE(0) & 0x02, 0x02, 'root note set');
  assert.equal(p.readUInt16LE(4), 69, 'root note A4');
  assert.equal(p.readUInt32LE(12), 32, 'beats');
  assert.equal(p.readUInt16LE(16), 4, 'meter denominator');
  assert.equal(p.readUInt16LE(18), 4, 'meter numerator');
  assert.equal(p.readFloatLE(20), 120, 'tempo');
  assert.deepEqual(parseAcid(p).meter, [4, 4]);

  // no key: no root note; no tempo: JUNK of the same size instead of acid
  const noKey = parseAcid(metadataChunks({ tempo: 92.5 }, frames, SR).subarray(at + 8, at + 32));
  assert.equal(noKey.rootNoteSet, false);
  assert.equal(noKey.rootNote, 0);
  assert.equal(noKey.tempo, 92.5);
  const noTempo = metadataChunks({ label: 'Drums', key: 'C# major' }, frames, SR);
  assert.equal(noTempo.length, METADATA_BYTES);
  assert.equal(noTempo.toString('latin1', at, at + 4), 'JUNK');
  assert.equal(describeStem({ label: 'Drums', key: 'C# major' }), 'Stemdeck: Drums, C# major');
});

test('key names → tonic: sharps and flats', () => {
  assert.deepEqual(parseKeyName('A minor'), { tonic: 9, mode: 'minor' });
  assert.deepEqual(parseKeyName('Eb major'), { tonic: 3, mode: 'major' });
  assert.deepEqual(parseKeyName('F# minor'), { tonic: 6, mode: 'minor' });
  assert.deepEqual(parseKeyName('C major'), { tonic: 0, mode: 'major' });
  assert.equal(parseKeyName('H minor'), null);
});

test('the metadata block sits before data in RIFF and RF64 (ds64 first); our readers find the samples and the metadata', async () => {
  const layout = { sampleRate: 44100, channels: 2, bits: 24 as const, float: false };
  const chunks = metadataChunks({ label: 'Bass', tempo: 128, key: 'F minor' }, 1000, 44100);
  const small = buildWavHeader(layout, 1000 * 6, { reserveDs64: true, chunks });
  assert.deepEqual(chunkIds(small), ['JUNK', 'fmt ', 'bext', 'acid', 'data']);
  const DATA = 6 * 900_000_000; // 5.4 GB of 24-bit stereo
  const big = buildWavHeader(layout, DATA, { reserveDs64: true, chunks });
  assert.equal(big.toString('latin1', 0, 4), 'RF64');
  assert.deepEqual(chunkIds(big), ['ds64', 'fmt ', 'bext', 'acid', 'data']);
  assert.equal(small.length, big.length, 'one header length at any size');
  // a sparse RF64 file: our readers see the samples after the metadata
  const file = path.join(work, 'big.wav');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, big, 0, big.length, 0);
  fs.ftruncateSync(fd, big.length + DATA);
  fs.closeSync(fd);
  const info = await readWavInfo(file);
  assert.equal(info.dataOffset, big.length);
  assert.equal(info.frames, 900_000_000);
  const meta = await readWavMetadata(file);
  assert.equal(meta.acid?.tempo, 128);
  assert.equal(meta.acid?.rootNote, 65);
  assert.match(meta.bext?.description ?? '', /Bass, 128 BPM, F minor/);
});

test('the stem writer patches the tempo and key in at the end (same header length); without metadata, no block', async () => {
  const sig = [new Float32Array(44100).map((_, i) => Math.sin(i / 10) * 0.5), new Float32Array(44100)];
  const withMeta = path.join(work, 'with.wav');
  const w = createStemWriter(withMeta, 2, 44100, 'wav24', {}, { label: 'Vocals', model: 'm' });
  await w.write(sig);
  w.updateMetadata({ tempo: 100, key: 'G major' });
  await w.finish();
  await w.commit();
  const m = await readWavMetadata(withMeta);
  assert.deepEqual(m.chunks, ['JUNK', 'fmt ', 'bext', 'acid', 'data']);
  assert.equal(m.acid?.tempo, 100);
  assert.equal(m.acid?.rootNote, 67);
  assert.equal(m.bext?.description, 'Stemdeck: Vocals, 100 BPM, G major, model m');

  const plain = path.join(work, 'plain.wav');
  const p = createStemWriter(plain, 2, 44100, 'wav24');
  await p.write(sig);
  await p.finish();
  await p.commit();
  assert.deepEqual((await readWavMetadata(plain)).chunks, ['JUNK', 'fmt ', 'data']);
  assert.equal(fs.statSync(withMeta).size - fs.statSync(plain).size, METADATA_BYTES);
  // the same samples either way
  const a: Float32Array[][] = [];
  const b: Float32Array[][] = [];
  for await (const c of readWavChunks(withMeta)) a.push(c);
  for await (const c of readWavChunks(plain)) b.push(c);
  assert.deepEqual(a, b);
});

test('FLAC and MP3 writers add the tempo and key learnt after the encoder started (Vorbis BPM, ID3v2 TBPM whole); the samples stay the same', async () => {
  const sig = [new Float32Array(2 * 44100).map((_, i) => Math.sin(i / 10) * 0.5), new Float32Array(2 * 44100).map((_, i) => Math.cos(i / 7) * 0.3)];
  const want = {
    flac: { BPM: '119.7', INITIALKEY: 'Am', TITLE: 'Song' },
    flac16: { BPM: '119.7', INITIALKEY: 'Am', TITLE: 'Song' },
    mp3: { TBPM: '120', TKEY: 'Am', title: 'Song' },
    'mp3-v0': { TBPM: '120', TKEY: 'Am', title: 'Song' },
  };
  for (const [format, tags] of Object.entries(want) as [keyof typeof want, Record<string, string>][]) {
    const ext = format.startsWith('mp3') ? 'mp3' : 'flac';
    const late = path.join(work, `late-${format}.${ext}`);
    const w = createStemWriter(late, 2, 44100, format, { title: 'Song' }, { label: 'Vocals', model: 'm' });
    await w.write(sig); // the encoder has started: it wrote its tags already
    w.updateMetadata({ tempo: 119.7, key: 'A minor' });
    await w.finish();
    await w.commit();
    const got = readAudioTags(late);
    for (const [k, v] of Object.entries(tags)) assert.equal(got[k], v, `${format}: ${k} in ${JSON.stringify(got)}`);
    if (ext === 'mp3') assert.equal(fs.readFileSync(late).toString('latin1', 0, 3), 'ID3', 'an ID3v2 tag at the start');

    const plain = path.join(work, `plain-${format}.${ext}`);
    const p = createStemWriter(plain, 2, 44100, format, { title: 'Song' }, { label: 'Vocals', model: 'm' });
    await p.write(sig);
    await p.finish();
    await p.commit();
    assert.equal(readAudioTags(plain).BPM ?? readAudioTags(plain).TBPM, undefined, 'no tempo learnt, no tag');
    assert.ok(decodeSamples(late).equals(decodeSamples(plain)), `${format}: the same samples, the same length`);
    assert.deepEqual(fs.readdirSync(work).filter((n) => n.endsWith('.part')), [], 'no temp file left');
  }
});

test('a FLAC stem whose tags cannot be added (ffmpeg gone) is kept whole, without them, and the failure is kept for the job, not printed', async (t) => {
  const sig = [new Float32Array(44100).map((_, i) => Math.sin(i / 10) * 0.5), new Float32Array(44100)];
  const file = path.join(work, 'untagged.flac');
  const w = createStemWriter(file, 2, 44100, 'flac', {}, { label: 'Bass' });
  await w.write(sig);
  w.updateMetadata({ tempo: 128, key: 'F minor' });
  const printed: unknown[] = [];
  t.mock.method(console, 'warn', (...a: unknown[]) => printed.push(a));
  t.mock.method(console, 'error', (...a: unknown[]) => printed.push(a));
  const beforeFinish = w.missingTags;
  assert.equal(beforeFinish, null, 'nothing missing before finish');
  const env = process.env.STEMDECK_FFMPEG;
  process.env.STEMDECK_FFMPEG = path.join(work, 'no-ffmpeg-here'); // the encoder runs; the remux cannot start
  try {
    await w.finish();
  } finally {
    if (env === undefined) delete process.env.STEMDECK_FFMPEG;
    else process.env.STEMDECK_FFMPEG = env;
  }
  await w.commit();
  assert.deepEqual(printed, [], 'nothing on the console: the shells show the job\'s warnings');
  assert.deepEqual(w.missingTags?.tags, ['BPM', 'INITIALKEY']);
  assert.match(w.missingTags?.reason ?? '', /^STEMDECK_FFMPEG points to/);
  const warning = missingTagsWarning([path.basename(file)], w.missingTags!);
  assert.equal(warning.code, 'output-tags-missing');
  assert.match(warning.message, /^"untagged\.flac" is complete but has no BPM\/INITIALKEY tag: adding it failed \(STEMDECK_FFMPEG points to .*\)\. Tag it in your music library or DAW if you need it\.$/);
  assert.match(
    missingTagsWarning(['a.flac', 'b.flac'], w.missingTags!).message,
    /^"a\.flac", "b\.flac" are complete but have no BPM\/INITIALKEY tag: .* Tag them in/,
    'one warning for several stems',
  );
  assert.equal(readAudioTags(file).BPM, undefined);
  assert.equal(decodeSamples(file).length, 44100 * 2 * 4, 'every sample');
  assert.deepEqual(fs.readdirSync(work).filter((n) => n.endsWith('.part')), [], 'no temp file left');
});

test('name patterns: tokens, [optional] groups, sanitised and cut titles, refused patterns', () => {
  const daw = parseNamePattern(DAW_NAME_PATTERN);
  const f = { song: 'Song', stem: 'vocals', tempo: 120, key: 'A minor', model: 'm1' };
  assert.equal(patternFileName(daw, f, '.wav'), 'Song - Vocals - 120 BPM - A min.wav');
  assert.equal(patternFileName(daw, { ...f, tempo: null }, '.wav'), 'Song - Vocals - A min.wav');
  assert.equal(patternFileName(daw, { ...f, key: null, tempo: 92.5 }, '.flac'), 'Song - Vocals - 92.5 BPM.flac');
  assert.equal(patternFileName(daw, { ...f, stem: 'Mix', key: 'Eb major' }, '.wav'), 'Song - Mix - 120 BPM - Eb maj.wav');
  assert.equal(patternFileName(parseNamePattern('{stem}'), f, '.wav'), 'Vocals.wav');
  assert.equal(patternFileName(parseNamePattern('{model}/{stem}'), f, '.wav'), 'm1_Vocals.wav', 'no folders');
  assert.equal(patternFileName(daw, { ...f, song: 'AC/DC: "Live"?' }, '.wav'), 'AC_DC_ _Live__ - Vocals - 120 BPM - A min.wav');
  // a long title is cut, the stem, tempo and key are kept
  const long = patternFileName(daw, { ...f, song: 'ü'.repeat(400) }, '.wav');
  assert.ok(nameLength(long) <= NAME_MAX, `${nameLength(long)}`);
  assert.ok(long.endsWith(' - Vocals - 120 BPM - A min.wav'), long);
  for (const bad of ['{song}', '{song} - [{stem}]', '{stem} {tempo}', '{stem', '{stem}]', '[{stem}', '{stem} [[{bpm}]]', 'x'.repeat(201) + '{stem}'])
    assert.throws(() => parseNamePattern(bad), (e: unknown) => e instanceof StemdeckError && e.code === 'invalid-request' && /\{stem\}/.test(e.message), bad);
});

test('streaming analysis = whole-signal analysis, bit for bit, for any chunking', async () => {
  const SR = 44100;
  const n = 12 * SR;
  // clicks at 100 BPM over an A-minor triad, stereo
  const l = new Float32Array(n);
  const r = new Float32Array(n);
  const period = Math.round((60 / 100) * SR);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const click = i % period < 400 ? ((seed / 0x7fffffff) * 2 - 1) * Math.exp(-(i % period) / 60) : 0;
    const tone = 0.1 * (Math.sin((2 * Math.PI * 220 * i) / SR) + Math.sin((2 * Math.PI * 261.63 * i) / SR) + Math.sin((2 * Math.PI * 329.63 * i) / SR));
    l[i] = click + tone;
    r[i] = 0.5 * click + tone;
  }
  const whole = await analyzeMixture([l, r], SR);
  assert.ok(whole.tempo && Math.abs(whole.tempo.bpm - 100) < 2, JSON.stringify(whole.tempo));
  for (const sizes of [[1], [511, 513], [4096], [8191, 3, 100000]]) {
    const a = await MusicAnalyzer.create(SR);
    for (let o = 0, k = 0; o < n; k++) {
      const len = Math.min(sizes[k % sizes.length], n - o);
      a.push([l.subarray(o, o + len), r.subarray(o, o + len)]);
      o += len;
    }
    assert.deepEqual(a.finish(), whole, `chunks of ${sizes.join('/')}`);
  }
});
