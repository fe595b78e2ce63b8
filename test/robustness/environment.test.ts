// A hostile environment (issue 7 §3): a read-only output folder, a full disk, ffmpeg missing,
// a corrupt model file and a model with the wrong contract. Each gives a clear StemdeckError,
// leaves nothing partial that looks finished, and the next job works.
// Tests run as root here, where chmod does not stop writes: the read-only folder and the full
// disk are real tmpfs mounts (ro / 256 KiB) when root may mount; the read-only case also uses a
// path under a regular file (ENOTDIR), which works for any user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile } from '../../src-main/engine/index.js';
import { StemdeckError, type StemdeckErrorCode } from '../../src-main/engine/errors.js';
import {
  assertNothingLeft,
  ffmpeg,
  fixtureModels,
  identityWaveform,
  listFiles,
  makeTone,
  readWav,
  tempDir,
  tryMountTmpfs,
  useTempHome,
} from './helpers.js';

let work = '';
let home = '';
let good = '';
let jobs = 0;
const unmounts: (() => void)[] = [];

before(() => {
  home = useTempHome();
  work = tempDir();
  good = makeTone(path.join(work, 'good.wav'), 3, { codec: ['-c:a', 'pcm_s16le'] });
});
after(() => {
  for (const u of unmounts) u();
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

const outDir = (): string => path.join(work, `out-${++jobs}`);

async function nextJobWorks(): Promise<void> {
  const r = await separateFile({ input: good, outDir: outDir(), model: identityWaveform, format: 'wav' });
  assert.equal(readWav(r.outputs.vocals).data[0].length, 3 * 44100, 'the next job works');
}

async function rejectsWith(p: Promise<unknown>, codes: StemdeckErrorCode[], re?: RegExp): Promise<StemdeckError> {
  let err: unknown = null;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StemdeckError, `a StemdeckError, got ${err === null ? 'success' : String(err)}`);
  assert.ok(codes.includes(err.code), `code ${err.code} ∈ ${codes.join('|')}: ${err.message}`);
  assert.ok(!err.message.includes('\n') && err.message.length > 10, 'one clear line');
  if (re) assert.match(err.message, re);
  return err;
}

test('read-only output folder (a path under a regular file) → output-unwritable', async () => {
  const file = path.join(work, 'a-file');
  fs.writeFileSync(file, 'x');
  const dir = path.join(file, 'stems');
  await rejectsWith(separateFile({ input: good, outDir: dir, model: identityWaveform, format: 'wav' }), ['output-unwritable']);
  assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  await nextJobWorks();
});

test('read-only output folder (read-only mount) → output-unwritable, nothing written', async (t) => {
  const dir = path.join(work, 'ro-mount');
  const unmount = tryMountTmpfs(dir, 'ro,size=1m');
  if (!unmount) return t.skip('cannot mount a read-only tmpfs here (not root, or mounts not permitted)');
  unmounts.push(unmount);
  for (const format of ['wav', 'flac'] as const) {
    await rejectsWith(separateFile({ input: good, outDir: dir, model: identityWaveform, format }), ['output-unwritable']);
    await rejectsWith(
      separateFile({ input: good, outDir: path.join(dir, 'sub'), model: identityWaveform, format }),
      ['output-unwritable'],
    );
    assertNothingLeft(dir);
  }
  await nextJobWorks();
});

test('full disk (a 256 KiB tmpfs) → disk-full, no partial stems left', async (t) => {
  const dir = path.join(work, 'tiny-disk');
  const unmount = tryMountTmpfs(dir, 'size=256k');
  if (!unmount) return t.skip('cannot mount a tmpfs here (not root, or mounts not permitted)');
  unmounts.push(unmount);
  // 3 s of stereo noise ≈ 1 MiB per stem as float WAV and ≈ 0.8 MiB as 24-bit FLAC (noise does not
  // compress): the disk fills during the write, for our WAV writer and ffmpeg's FLAC encoder alike.
  const noise = path.join(work, 'noise.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'anoisesrc=r=44100:a=0.5:c=white:d=3', '-ac', '2', '-c:a', 'pcm_s16le', noise]);
  // the song folder is inside the full disk (its staging folder is beside it, on the same disk)
  const song = path.join(dir, 'song');
  for (const format of ['wav', 'flac'] as const) {
    const err = await rejectsWith(separateFile({ input: noise, outDir: song, model: identityWaveform, format }), ['disk-full'], /space/i);
    assert.ok(err.message.length > 0, format);
    assertNothingLeft(dir, 'full disk');
  }
  // The same disk works again once there is room: a job small enough to fit succeeds there.
  const small = makeTone(path.join(work, 'small.wav'), 0.2, { codec: ['-c:a', 'pcm_s16le'] });
  const r = await separateFile({ input: small, outDir: song, model: identityWaveform, format: 'wav16', stems: ['vocals'] });
  assert.deepEqual(listFiles(dir), [path.join('song', 'vocals.wav')]);
  assert.equal(readWav(r.outputs.vocals).data[0].length, Math.round(0.2 * 44100));
  await nextJobWorks();
});

test('ffmpeg missing (STEMDECK_FFMPEG points nowhere, empty PATH) → ffmpeg-missing', async () => {
  const saved = { ff: process.env.STEMDECK_FFMPEG, path: process.env.PATH };
  const dir = outDir();
  try {
    process.env.STEMDECK_FFMPEG = path.join(work, 'no-ffmpeg-here');
    process.env.PATH = '';
    await rejectsWith(separateFile({ input: good, outDir: dir, model: identityWaveform, format: 'wav' }), ['ffmpeg-missing'], /STEMDECK_FFMPEG|ffmpeg/);
    assertNothingLeft(dir);
  } finally {
    if (saved.ff === undefined) delete process.env.STEMDECK_FFMPEG;
    else process.env.STEMDECK_FFMPEG = saved.ff;
    process.env.PATH = saved.path;
  }
  await nextJobWorks();
});

/** Copies the identity-waveform fixture into a temp folder, to be damaged. */
function copyModel(name: string): string {
  const dir = path.join(work, name);
  fs.cpSync(path.join(fixtureModels, 'identity-waveform'), dir, { recursive: true });
  return path.join(dir, 'manifest.json');
}

test('corrupt model file (bytes changed, checksum no longer matches) → model-corrupt', async () => {
  const manifest = copyModel('corrupt-a');
  const onnx = path.join(path.dirname(manifest), 'identity-waveform.onnx');
  const b = fs.readFileSync(onnx);
  for (let i = 16; i < b.length; i += 7) b[i] ^= 0x5a;
  fs.writeFileSync(onnx, b);
  const dir = outDir();
  await rejectsWith(separateFile({ input: good, outDir: dir, model: manifest, format: 'wav' }), ['model-corrupt']);
  assertNothingLeft(dir);
  await nextJobWorks();
});

test('corrupt model file whose manifest checksum matches (garbage ONNX) → model-corrupt', async () => {
  const manifest = copyModel('corrupt-b');
  const onnx = path.join(path.dirname(manifest), 'identity-waveform.onnx');
  const garbage = Buffer.from('this is not an onnx protobuf at all '.repeat(8));
  fs.writeFileSync(onnx, garbage);
  const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  const { createHash } = await import('node:crypto');
  m.files[0].sha256 = createHash('sha256').update(garbage).digest('hex');
  m.files[0].bytes = garbage.length;
  m.id = 'identity-garbage';
  fs.writeFileSync(manifest, JSON.stringify(m));
  const dir = outDir();
  await rejectsWith(separateFile({ input: good, outDir: dir, model: manifest, format: 'wav' }), ['model-corrupt']);
  assertNothingLeft(dir);
  await nextJobWorks();
});

test('a model with the wrong contract (manifest says waveform, graph is a spectrogram model) → model-contract', async () => {
  const manifest = copyModel('wrong-contract');
  const dir0 = path.dirname(manifest);
  // put the complex-spectrogram identity graph ([1, 4, F, T] in) behind a waveform manifest ([1, 2, N] in)
  const src = path.join(fixtureModels, 'identity-complex', 'identity-complex.onnx');
  const bytes = fs.readFileSync(src);
  fs.writeFileSync(path.join(dir0, 'identity-waveform.onnx'), bytes);
  const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  const { createHash } = await import('node:crypto');
  m.files[0].sha256 = createHash('sha256').update(bytes).digest('hex');
  m.files[0].bytes = bytes.length;
  m.id = 'identity-wrong-contract';
  fs.writeFileSync(manifest, JSON.stringify(m));
  const complexManifest = JSON.parse(fs.readFileSync(path.join(fixtureModels, 'identity-complex', 'manifest.json'), 'utf8'));
  m.tensors = complexManifest.tensors;
  fs.writeFileSync(manifest, JSON.stringify(m));
  const dir = outDir();
  await rejectsWith(separateFile({ input: good, outDir: dir, model: manifest, format: 'wav' }), ['model-contract']);
  assertNothingLeft(dir);
  await nextJobWorks();
});

test('a model whose tensor names do not match its manifest → model-contract', async () => {
  const manifest = copyModel('wrong-names');
  const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  m.id = 'identity-wrong-names';
  m.tensors = { input: 'audio_in', output: 'audio_out' };
  fs.writeFileSync(manifest, JSON.stringify(m));
  const dir = outDir();
  await rejectsWith(separateFile({ input: good, outDir: dir, model: manifest, format: 'wav' }), ['model-contract']);
  assertNothingLeft(dir);
  await nextJobWorks();
});

test('a model with the wrong stem count (manifest lists 4 stems, graph gives 2) → model-contract', async () => {
  const manifest = copyModel('wrong-stems');
  const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  m.id = 'identity-wrong-stems';
  m.stems = ['vocals', 'drums', 'bass', 'other'];
  fs.writeFileSync(manifest, JSON.stringify(m));
  const dir = outDir();
  await rejectsWith(separateFile({ input: good, outDir: dir, model: manifest, format: 'wav' }), ['model-contract']);
  assertNothingLeft(dir);
  await nextJobWorks();
});

test('a folder in the way of the last stem → output-unwritable, and no other stem is left looking finished', async () => {
  const dir = outDir();
  fs.mkdirSync(path.join(dir, 'other.wav'), { recursive: true }); // 'other' is written last
  await rejectsWith(separateFile({ input: good, outDir: dir, model: identityWaveform, format: 'wav' }), ['output-unwritable']);
  assert.deepEqual(listFiles(dir), [], 'no vocals.wav from the half-committed job, no temp files');
  assert.ok(fs.statSync(path.join(dir, 'other.wav')).isDirectory(), 'the folder is left alone');
  await nextJobWorks();
});
