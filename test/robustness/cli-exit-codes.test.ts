/**
 * Issue 12, item 10: the CLI's exit codes (README, "Command line"): 0 done, 1 an input failed
 * (for models / eval / doctor: the work did), 2 a usage error or an unusable model (nothing was
 * done). Usage errors and bad inputs used to share exit code 1. Real bin, real files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { identityWaveform, makeTone, tempDir } from './helpers.js';
import { stemdeck } from './cli-run.js';

test('usage errors exit 2 for every command; --help and --version exit 0', async () => {
  const dir = tempDir('stemdeck-exit-');
  const song = makeTone(path.join(dir, 'song.wav'), 1);
  const usage: [string[], RegExp][] = [
    [['separate', song, '--format', 'ogg'], /argument 'ogg' is invalid/],
    [['separate', song, '--overlap', '5'], /--overlap must be a number from 0 to 0\.9/],
    [['separate', song, '--bogus'], /unknown option '--bogus'/],
    [['separate'], /missing required argument 'inputs'/],
    [['no-such-command'], /unknown command 'no-such-command'/],
    [['models', 'list', '--bogus'], /unknown option '--bogus'/],
    [['models', 'import', song, '--n-fft', 'many'], /Invalid --nFft/],
    [['doctor', '--bogus'], /unknown option '--bogus'/],
    [['eval'], /required option '--dataset <path>' not specified/],
  ];
  for (const [args, why] of usage) {
    const r = await stemdeck(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  for (const args of [['--help'], ['--version'], ['separate', '--help']]) assert.equal((await stemdeck(args)).code, 0, args.join(' '));
});

test('separate: 0 when every input is done, 1 when an input failed, 2 for an unknown model or stem', async () => {
  const dir = tempDir('stemdeck-exit-');
  const song = makeTone(path.join(dir, 'song.wav'), 1);
  const notAudio = path.join(dir, 'notes.mp3');
  fs.writeFileSync(notAudio, 'not audio\n'.repeat(20));
  const out = path.join(dir, 'out');
  const model = ['--model', identityWaveform, '--out', out];
  assert.equal((await stemdeck(['separate', song, ...model])).code, 0);
  const bad = await stemdeck(['separate', song, notAudio, ...model, '--json']);
  assert.equal(bad.code, 1, bad.stderr);
  assert.ok(bad.json[0].outputs, 'the good input is still done');
  assert.equal(typeof bad.json[1].error, 'string');
  assert.equal((await stemdeck(['separate', song, '--model', 'no-such-model', '--out', out])).code, 2);
  assert.equal((await stemdeck(['separate', song, ...model, '--stems', 'drums'])).code, 2);
});

test('eval: 2 for an unknown model (nothing measured), 1 for a dataset without tracks', async () => {
  const empty = tempDir('stemdeck-exit-');
  const unknown = await stemdeck(['eval', '--dataset', empty, '--model', 'no-such-model', '--json']);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /Unknown model "no-such-model"/);
  const noTracks = await stemdeck(['eval', '--dataset', empty, '--model', 'none']);
  assert.equal(noTracks.code, 1, noTracks.stderr);
  assert.match(noTracks.stderr, /No tracks found/);
});
