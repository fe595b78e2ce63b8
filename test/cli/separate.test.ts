/**
 * `stemdeck separate` through the real bin (node bin/stemdeck.js), real ffmpeg and ONNX Runtime.
 * stdout/stderr are pipes here, so no progress bars may appear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { decodeAll } from '../../src-main/engine/decode.js';
import { loadRegistry } from '../../src-main/engine/registry.js';
import { bin, fixtureModel, makeAudio, realClip, runCli, tempDir } from './helpers.js';

async function frames(file: string, stream = 0): Promise<number> {
  return (await decodeAll(file, { sampleRate: 44100, channels: 2, stream }))[0].length;
}

test('separate --json on generated audio: one JSON line per input, every stem of the input length', async () => {
  const dir = tempDir();
  const wav = path.join(dir, 'tone one.wav');
  const mp3 = path.join(dir, 'tone.two.mp3');
  makeAudio(wav, 100_003);
  makeAudio(mp3, 66_000);
  const out = path.join(dir, 'out');
  const r = await runCli(['separate', wav, mp3, '--out', out, '--json', '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.length, 2, r.stdout);
  assert.doesNotMatch(r.stderr, /\u001b\[|█|░/, 'no progress bar when stderr is not a terminal');
  const reg = await loadRegistry();
  const model = reg.get(reg.defaultId ?? '');
  for (const [line, input, n, folder] of [
    [r.json[0], wav, 100_003, 'tone one'],
    [r.json[1], mp3, 66_000, 'tone.two'],
  ] as const) {
    assert.deepEqual(Object.keys(line).sort(), ['firstDownbeatSeconds', 'input', 'key', 'model', 'outputs', 'provider', 'realtimeFactor', 'seconds', 'tempo', 'warnings']);
    assert.deepEqual(line.warnings, [], 'clean inputs: no warnings');
    assert.equal(line.input, input);
    assert.equal(line.model, model.manifest.id);
    assert.ok(typeof line.seconds === 'number' && line.seconds > 0);
    assert.ok(typeof line.realtimeFactor === 'number' && line.realtimeFactor > 0);
    const outputs = line.outputs as Record<string, string>;
    assert.deepEqual(Object.keys(outputs).sort(), [...model.manifest.stems].sort());
    for (const [stem, file] of Object.entries(outputs)) {
      assert.equal(file, path.join(out, folder, `${stem}.wav`));
      assert.equal(await frames(file), n, `${stem} of ${path.basename(input)}`);
    }
  }
  if (!model.manifest.trained) assert.match(r.stderr, /untrained/);
});

test('separate the real clip (.stem.mp4): every stem exactly the mixture length', async () => {
  const dir = tempDir();
  const r = await runCli(['separate', realClip, '--out', path.join(dir, 'stems-check'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.length, 1);
  const outputs = r.json[0].outputs as Record<string, string>;
  for (const s of ['vocals', 'drums', 'bass', 'other']) assert.ok(outputs[s], `stem ${s}`);
  const n = await frames(realClip, 0);
  assert.equal(n, 300_032);
  for (const [stem, file] of Object.entries(outputs)) {
    assert.equal(path.dirname(file), path.join(dir, 'stems-check', 'Music Delta - 80s Rock'));
    assert.equal(await frames(file), n, stem);
  }
});

test('a batch with bad inputs: the good files are done, one-line errors, non-zero exit', async () => {
  const dir = tempDir();
  const good1 = path.join(dir, 'a.wav');
  const good2 = path.join(dir, 'b.flac');
  makeAudio(good1, 30_000);
  makeAudio(good2, 20_000);
  const missing = path.join(dir, 'missing.wav');
  const text = path.join(dir, 'notes.mp3');
  fs.writeFileSync(text, 'this is not audio\n'.repeat(50));
  const empty = path.join(dir, 'empty.wav');
  fs.writeFileSync(empty, '');
  const out = path.join(dir, 'out');
  const inputs = [good1, missing, text, empty, good2];
  const r = await runCli(['separate', ...inputs, '--model', fixtureModel('identity-waveform'), '--out', out, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.json.length, 5, r.stdout);
  assert.deepEqual(
    r.json.map((j) => j.input),
    inputs,
  );
  for (const i of [0, 4]) {
    const outputs = r.json[i].outputs as Record<string, string>;
    assert.deepEqual(Object.keys(outputs).sort(), ['other', 'vocals']);
    for (const f of Object.values(outputs)) assert.ok(fs.existsSync(f), f);
  }
  assert.equal(await frames(path.join(out, 'b', 'vocals.wav')), 20_000);
  const errLines = r.stderr.split('\n').filter((l) => l.startsWith('stemdeck: ') && !l.startsWith('stemdeck: warning'));
  assert.equal(errLines.length, 3, r.stderr);
  for (const [i, bad] of [
    [1, missing],
    [2, text],
    [3, empty],
  ] as const) {
    assert.equal(typeof r.json[i].error, 'string');
    assert.equal(r.json[i].outputs, undefined);
    assert.ok(errLines.some((l) => l.startsWith(`stemdeck: ${bad}: `)), `error line for ${bad}`);
    assert.ok(!fs.existsSync(path.join(out, path.basename(bad, path.extname(bad)), 'vocals.wav')));
  }
  assert.match(r.json[1].error as string, /not found/i);
  assert.match(r.stderr, /untrained/); // the identity fixture is marked "trained": false
});

test('options: --stems, --format, --no-residual, same-named inputs, bad model and bad format', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'x'));
  fs.mkdirSync(path.join(dir, 'y'));
  const a = path.join(dir, 'x', 'song.wav');
  const b = path.join(dir, 'y', 'song.wav');
  makeAudio(a, 25_000);
  makeAudio(b, 25_000);
  const out = path.join(dir, 'out');
  const r = await runCli(
    ['separate', a, b, '--model', fixtureModel('identity-complex'), '--out', out, '--stems', 'vocals', '--format', 'flac16', '--no-residual', '--json'],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json[0].outputs, { vocals: path.join(out, 'song', 'vocals.flac') });
  assert.deepEqual(r.json[1].outputs, { vocals: path.join(out, 'song (2)', 'vocals.flac') });
  assert.deepEqual(fs.readdirSync(path.join(out, 'song')), ['vocals.flac']);
  assert.equal(await frames(path.join(out, 'song (2)', 'vocals.flac')), 25_000);

  const badStem = await runCli(['separate', a, '--model', fixtureModel('identity-complex'), '--out', out, '--stems', 'drums']);
  assert.equal(badStem.code, 2);
  assert.match(badStem.stderr, /no stem "drums".*vocals, other/);

  const badModel = await runCli(['separate', a, '--model', 'no-such-model', '--out', out, '--json']);
  assert.equal(badModel.code, 2);
  const lines = badModel.stderr.trim().split('\n');
  assert.equal(lines.length, 1, badModel.stderr);
  assert.match(lines[0], /^stemdeck: Unknown model "no-such-model".*models list/);
  assert.equal(badModel.json[0].input, a);
  assert.equal(typeof badModel.json[0].error, 'string');

  // an output folder that cannot be created (below a file): a per-input error, exit 1
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  const unwritable = await runCli(['separate', a, '--model', fixtureModel('identity-complex'), '--out', path.join(file, 'sub'), '--json']);
  assert.equal(unwritable.code, 1);
  assert.equal(unwritable.json[0].code, 'output-unwritable');
  assert.match(unwritable.stderr, /Choose an output folder/);
  const outIsFile = await runCli(['separate', a, '--out', file]);
  assert.equal(outIsFile.code, 2);
  assert.match(outIsFile.stderr, /is a file, not a folder/);

  const badFormat = await runCli(['separate', a, '--format', 'ogg']);
  assert.notEqual(badFormat.code, 0);
  assert.match(badFormat.stderr, /ogg/);
  assert.equal(badFormat.stdout, '');
});

test('--help and --version start fast and exit 0', async () => {
  const t0 = performance.now();
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /separate/);
  assert.match(r.stdout, /models/);
  assert.match(r.stdout, /doctor/);
  assert.match(r.stdout, /eval/);
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  assert.ok(performance.now() - t0 < 30_000);
});

test('Ctrl-C (SIGINT) cancels: exit code 130 and no stem files left', async () => {
  const dir = tempDir();
  const long = path.join(dir, 'long.wav');
  makeAudio(long, 44_100 * 150);
  const out = path.join(dir, 'out');
  const home = tempDir('stemdeck-home-');
  const child = spawn(process.execPath, [bin, 'separate', long, '--out', out, '--threads', '1'], {
    env: { ...process.env, STEMDECK_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // wait until the job has started writing (its hidden staging folder beside the song folder
  // exists: src-main/engine/sink.ts), then interrupt
  const songDir = path.join(out, 'long');
  const writing = (): boolean => fs.existsSync(out) && fs.readdirSync(out).some((n) => n.startsWith('.long.') && n.endsWith('.staging'));
  const t0 = Date.now();
  while (!writing() && Date.now() - t0 < 30_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  assert.ok(writing(), `the job never started: ${stderr}`);
  child.kill('SIGINT');
  const code = await closed;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /cancel/i);
  assert.deepEqual(fs.existsSync(songDir) ? fs.readdirSync(songDir) : [], []);
  assert.deepEqual(fs.readdirSync(out), [], 'no song folder and no staging folder left');
});
