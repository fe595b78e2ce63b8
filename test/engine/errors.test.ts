/**
 * Bad inputs give StemdeckError codes and leave no stems; cancelling mid-job leaves no stem files;
 * the next job after a failure works.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile, writeAudio, loadRegistry, StemdeckError, type StemdeckErrorCode } from '../../src-main/engine/index.js';
import { ffmpeg, fixtureModel, isolateHome, listFiles, tempDir, testSignal } from './helpers.js';

let dir = '';
let good = '';
let longFile = '';

before(async () => {
  isolateHome();
  dir = tempDir();
  good = path.join(dir, 'good.wav');
  await writeAudio(good, testSignal(30_000), 44100, 'wav');
  longFile = path.join(dir, 'long.wav');
  await writeAudio(longFile, testSignal(44100 * 20), 44100, 'wav16');
});

async function expectCode(p: Promise<unknown>, code: StemdeckErrorCode): Promise<StemdeckError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StemdeckError, `expected StemdeckError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.length > 10 && !e.message.includes('\n'), 'one-line message');
    return e;
  }
  assert.fail(`expected error ${code}`);
}

const model = () => fixtureModel('identity-waveform');

test('missing input → input-missing', async () => {
  const out = path.join(dir, 'o-missing');
  await expectCode(separateFile({ input: path.join(dir, 'nope.wav'), outDir: out, model: model() }), 'input-missing');
  assert.deepEqual(listFiles(out), []);
});

test('text file → input-not-audio', async () => {
  const f = path.join(dir, 'notes.wav');
  fs.writeFileSync(f, 'this is not audio at all, just some text\n'.repeat(50));
  const out = path.join(dir, 'o-text');
  await expectCode(separateFile({ input: f, outDir: out, model: model() }), 'input-not-audio');
  assert.deepEqual(listFiles(out), []);
});

test('empty file → input-corrupt', async () => {
  const f = path.join(dir, 'empty.mp3');
  fs.writeFileSync(f, '');
  await expectCode(separateFile({ input: f, outDir: path.join(dir, 'o-empty'), model: model() }), 'input-corrupt');
});

test('truncated files: a clear error or a correct (shorter) result, never partial stems', async () => {
  for (const [name, codec] of [
    ['t.wav', ['-c:a', 'pcm_s16le']],
    ['t.flac', ['-c:a', 'flac']],
    ['t.mp3', ['-c:a', 'libmp3lame']],
  ] as const) {
    const full = path.join(dir, `full-${name}`);
    ffmpeg(['-i', good, ...codec, full]);
    const buf = fs.readFileSync(full);
    const cut = path.join(dir, `cut-${name}`);
    fs.writeFileSync(cut, buf.subarray(0, Math.floor(buf.length * 0.6)));
    const out = path.join(dir, `o-cut-${name}`);
    try {
      const r = await separateFile({ input: cut, outDir: out, model: model(), residual: false });
      assert.ok(r.frames > 0 && r.frames < 30_000, `${name}: ${r.frames} frames`);
      assert.deepEqual(listFiles(out), ['other.wav', 'vocals.wav']);
    } catch (e) {
      assert.ok(e instanceof StemdeckError && ['input-corrupt', 'input-not-audio'].includes(e.code), `${name}: ${String(e)}`);
      assert.deepEqual(listFiles(out), []);
    }
  }
  // a header-only wav: the data chunk is declared (0.68 s), no sample follows → both lengths
  const bytes = fs.readFileSync(good);
  const hdr = path.join(dir, 'header-only.wav');
  fs.writeFileSync(hdr, bytes.subarray(0, bytes.indexOf('data', 12, 'latin1') + 8));
  const e = await expectCode(separateFile({ input: hdr, outDir: path.join(dir, 'o-hdr'), model: model() }), 'input-corrupt');
  assert.match(e.message, /should last 0\.68 s, but only 0\.00 s/);
  assert.deepEqual(listFiles(path.join(dir, 'o-hdr')), []);
  // cut inside its header (58 bytes: within the fmt chunk), so ffmpeg finds no audio: still cut off
  const cutHdr = path.join(dir, 'header-cut.wav');
  fs.writeFileSync(cutHdr, bytes.subarray(0, 58));
  const e2 = await expectCode(separateFile({ input: cutHdr, outDir: path.join(dir, 'o-hdr2'), model: model() }), 'input-corrupt');
  assert.match(e2.message, new RegExp(`header says ${bytes.length} bytes, the file holds 58`));
  assert.deepEqual(listFiles(path.join(dir, 'o-hdr2')), []);
});

test('unknown model → model-unknown; corrupt model file → model-corrupt', async () => {
  await expectCode(separateFile({ input: good, outDir: path.join(dir, 'o-um'), model: 'no-such-model' }), 'model-unknown');
  await expectCode(separateFile({ input: good, outDir: path.join(dir, 'o-um2'), model: path.join(dir, 'x', 'm.json') }), 'model-unknown');
  const reg = await loadRegistry();
  assert.throws(() => reg.get('no-such-model'), (e: unknown) => e instanceof StemdeckError && e.code === 'model-unknown');
  // copy the fixture and damage the onnx (same size, different bytes) → checksum mismatch
  const mdir = path.join(dir, 'bad-model');
  fs.cpSync(path.dirname(model()), mdir, { recursive: true });
  const onnx = path.join(mdir, 'identity-waveform.onnx');
  const b = fs.readFileSync(onnx);
  b[b.length - 5] ^= 0xff;
  fs.writeFileSync(onnx, b);
  const out = path.join(dir, 'o-bad-model');
  await expectCode(separateFile({ input: good, outDir: out, model: path.join(mdir, 'manifest.json') }), 'model-corrupt');
  assert.deepEqual(listFiles(out), []);
  // a manifest that fails validation
  const bad = path.join(dir, 'bad-manifest.json');
  fs.writeFileSync(bad, JSON.stringify({ id: 'x', io: 'waveform', files: [] }));
  await expectCode(separateFile({ input: good, outDir: path.join(dir, 'o-bm'), model: bad }), 'model-corrupt');
});

test('a model whose graph does not follow its declared contract → model-contract', async () => {
  // the waveform identity graph declared as a complex-spectrogram model
  const mdir = path.join(dir, 'wrong-contract');
  fs.cpSync(path.dirname(model()), mdir, { recursive: true });
  const m = JSON.parse(fs.readFileSync(path.join(mdir, 'manifest.json'), 'utf8'));
  m.io = 'complex-spectrogram';
  m.stft = { nFft: 2048, hop: 512, window: 'hann', center: true, bins: 1025 };
  fs.writeFileSync(path.join(mdir, 'manifest.json'), JSON.stringify(m));
  const out = path.join(dir, 'o-contract');
  await expectCode(separateFile({ input: good, outDir: out, model: path.join(mdir, 'manifest.json') }), 'model-contract');
  assert.deepEqual(listFiles(out), []);
});

test('unwritable output folder → output-unwritable', async () => {
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  await expectCode(separateFile({ input: good, outDir: path.join(file, 'sub'), model: model() }), 'output-unwritable');
});

test('unknown stem → invalid-request', async () => {
  await expectCode(separateFile({ input: good, outDir: path.join(dir, 'o-stem'), model: model(), stems: ['kazoo'] }), 'invalid-request');
});

test('cancelling mid-job leaves no stem files; the next job works', async () => {
  const out = path.join(dir, 'o-cancel');
  const ac = new AbortController();
  let seen = 0;
  const p = separateFile({
    input: longFile,
    outDir: out,
    model: fixtureModel('identity-complex'),
    signal: ac.signal,
    onProgress: (pr) => {
      if (pr.stage === 'separate' && pr.fraction > 0 && ++seen === 2) ac.abort();
    },
  });
  await expectCode(p, 'cancelled');
  assert.deepEqual(listFiles(out), [], 'no stems and no temp files');
  // already-aborted signal
  await expectCode(separateFile({ input: good, outDir: out, model: model(), signal: AbortSignal.abort() }), 'cancelled');
  assert.deepEqual(listFiles(out), []);
  const r = await separateFile({ input: good, outDir: out, model: model() });
  assert.equal(r.frames, 30_000);
  assert.deepEqual(listFiles(out), ['other.wav', 'vocals.wav']);
});

test('an engine process killed mid-job leaves only hidden temp files, removed by the next job', async () => {
  const { spawn } = await import('node:child_process');
  const out = path.join(dir, 'o-killed');
  fs.mkdirSync(out);
  const script = `
    const { separateFile } = await import(${JSON.stringify(path.resolve('src-main/engine/index.ts'))});
    await separateFile({ input: ${JSON.stringify(longFile)}, outDir: ${JSON.stringify(out)}, model: ${JSON.stringify(fixtureModel('identity-complex'))} });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
  // Listen for 'exit' from the start: a child that already finished must not leave us waiting.
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let running = true;
  void exited.then(() => (running = false));
  // the stems are written in a hidden staging folder beside the song folder (src-main/engine/sink.ts)
  const staged = (): string[] =>
    listFiles(dir)
      .filter((n) => n.startsWith('.o-killed.') && n.endsWith('.staging'))
      .flatMap((n) => listFiles(path.join(dir, n)).map((f) => `${n}/${f}`));
  const deadline = Date.now() + 60_000;
  try {
    while (!staged().some((f) => f.endsWith('.part')) && Date.now() < deadline && running) await new Promise((r) => setTimeout(r, 20));
    assert.ok(running, `the job ended before any temp file appeared (stems written straight to their final names?): ${listFiles(out).join(', ')}`);
    assert.ok(Date.now() < deadline, `no temp (.part) file appeared within 60 s: ${listFiles(out).join(', ')}`);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const left = staged();
  assert.deepEqual(listFiles(out), [], 'nothing in the song folder');
  assert.ok(left.length > 0 && left.every((f) => path.basename(f).startsWith('.') && f.endsWith('.part')), `after kill: ${left.join(', ')}`);
  await separateFile({ input: good, outDir: out, model: model() });
  assert.deepEqual(listFiles(out), ['other.wav', 'vocals.wav']);
  assert.deepEqual(staged(), [], 'the next job swept the killed one\'s staging folder');
});
