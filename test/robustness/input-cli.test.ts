// Issue 12, items 1 and 3 in the CLI (real bin): a warning is never silent — one line on stderr
// and a "warnings" array in the --json line (exit 0: the stems are right); a cut-off input is an
// error with both lengths (stderr, a JSON line with its code, exit 1) and the other inputs are
// still done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { identityWaveform, listFiles, makeTone, tempDir, truncate, writeFloatSamples } from './helpers.js';
import { stemdeck } from './cli-run.js';

/** A 1.5-s float WAV with 3 NaN samples. */
function poisonedWav(dir: string): string {
  const f = makeTone(path.join(dir, 'poisoned.wav'), 1.5, { codec: ['-c:a', 'pcm_f32le'] });
  writeFloatSamples(f, [10, 2000, 40_001].map((k) => [k, NaN] as const));
  return f;
}

test('separate: NaN samples → done (exit 0) with the warning on stderr and in --json "warnings"', async () => {
  const dir = tempDir('stemdeck-input-cli-');
  const f = poisonedWav(dir);
  const out = path.join(dir, 'out');
  const json = await stemdeck(['separate', f, '--model', identityWaveform, '--out', out, '--format', 'flac', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.json.length, 1);
  const line = json.json[0] as { outputs: Record<string, string>; warnings: { code: string; message: string }[] };
  assert.deepEqual(
    line.warnings.map((w) => w.code),
    ['input-non-finite'],
  );
  assert.match(line.warnings[0].message, /3 samples that are not a number/);
  assert.match(json.stderr, /stemdeck: warning: ".*poisoned\.wav" holds 3 samples that are not a number \(NaN or infinity\); they were replaced with silence\./);
  assert.deepEqual(listFiles(path.join(out, 'poisoned')), ['other.flac', 'vocals.flac']);

  const human = await stemdeck(['separate', f, '--model', identityWaveform, '--out', path.join(dir, 'out2'), '--format', 'mp3']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /stemdeck: warning: .*replaced with silence/);

  const clean = await stemdeck(['separate', makeTone(path.join(dir, 'clean.wav'), 1), '--model', identityWaveform, '--out', out, '--json']);
  assert.deepEqual(clean.json[0].warnings, [], 'a clean input: "warnings": []');
});

test('separate: a FLAC cut in half → exit 1, the error with both lengths on stderr and as JSON; the next input is still done', async () => {
  const dir = tempDir('stemdeck-input-cli-');
  const full = makeTone(path.join(dir, 'full.flac'), 4, { codec: ['-c:a', 'flac'] });
  const cut = truncate(full, path.join(dir, 'cut.flac'), 0.5);
  const good = makeTone(path.join(dir, 'good.wav'), 1);
  const out = path.join(dir, 'out');
  const r = await stemdeck(['separate', cut, good, '--model', identityWaveform, '--out', out, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.json[0].code, 'input-corrupt');
  assert.match(String(r.json[0].error), /cut off or damaged: it should last 4\.00 s, but only [12]\.\d\d s could be decoded/);
  assert.match(r.stderr, /cut\.flac.*it should last 4\.00 s, but only/);
  assert.ok(r.json[1].outputs, 'the good input is done');
  assert.deepEqual(listFiles(path.join(out, 'cut')), [], 'nothing written for the cut-off file');
});
