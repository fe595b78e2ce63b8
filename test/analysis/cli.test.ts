/**
 * `stemdeck separate` reports each input's tempo and key (real bin, real ffmpeg, real ONNX Runtime
 * with the identity fixture model): "tempo" and "key" in the --json line, and in the plain line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fixtureModel, runCli, tempDir } from '../cli/helpers.js';
import { ffmpeg } from '../engine/helpers.js';
import { songIn120AMinor } from './signals.js';

test('separate --json: "tempo" (BPM) and "key" on each input line; the plain line says them too', async () => {
  const dir = tempDir('stemdeck-analysis-cli-');
  const input = songIn120AMinor(dir);
  const silent = path.join(dir, 'silent.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '3', silent]);
  const model = fixtureModel('identity-waveform');

  const r = await runCli(['separate', input, silent, '--model', model, '--out', path.join(dir, 'out'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.length, 2, r.stdout);
  const [song1, quiet] = r.json;
  assert.equal(typeof song1.tempo, 'number', JSON.stringify(song1));
  assert.ok(Math.abs((song1.tempo as number) - 120) <= 2.4, `tempo ${song1.tempo}`);
  assert.equal(song1.key, 'A minor');
  assert.equal(quiet.tempo, null, 'silence: no tempo');
  assert.equal(quiet.key, null, 'silence: no key');

  const plain = await runCli(['separate', input, '--model', model, '--out', path.join(dir, 'out2')]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /; 1(19|20|21)(\.\d)? BPM, A minor\)\n$/);
});
