// Warnings about what a job adds to its stems, not about its input: a tempo/key analysis that failed
// and FLAC/MP3 stems whose late tempo/key tags could not be added. The stems are kept either way; the
// job's result carries one warning of each kind (what the CLI prints and puts in `--json`, and the
// app shows on the job and the song), never console output. Real ffmpeg and ONNX Runtime (identity
// fixture model: every stem equals the input) on a song with a clear tempo and key.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile } from '../../src-main/engine/index.js';
import { MixtureAnalysis, resolveModel, writeStems } from '../../src-main/engine/separate.js';
import { planSeparation } from '../../src-main/engine/plan.js';
import { isCascadeModel } from '../../src-main/engine/registry.js';
import { decodeAudio } from '../../src-main/engine/decode.js';
import { songIn120AMinor } from '../analysis/signals.js';
import { readAudioTags } from '../engine/audio-tags.js';
import { identityWaveform, tempDir, useTempHome } from './helpers.js';

let work = '';
let home = '';
let song = '';

before(() => {
  home = useTempHome();
  work = tempDir();
  song = songIn120AMinor(work);
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

/**
 * Collects what the engine prints to the console about tags or tempo/key (a warning must not go
 * there); the runner's one-line provider note is not a job warning and is left out.
 */
function watchConsole(t: TestContext): unknown[][] {
  const printed: unknown[][] = [];
  const keep = (a: unknown[]) => !/ONNX Runtime: .* requested/.test(String(a[0]));
  t.mock.method(console, 'warn', (...a: unknown[]) => keep(a) && printed.push(a));
  t.mock.method(console, 'error', (...a: unknown[]) => keep(a) && printed.push(a));
  return printed;
}

test('FLAC stems whose tempo/key tags cannot be added are kept, with one output-tags-missing warning naming them in the result', async (t) => {
  const printed = watchConsole(t);
  const outDir = path.join(work, 'tags');
  const env = process.env.STEMDECK_FFMPEG;
  let broken = false;
  let r;
  try {
    r = await separateFile({
      input: song,
      outDir,
      model: identityWaveform,
      format: 'flac',
      analyze: true,
      stemFileName: (stem, ext) => `Song - ${stem}.${ext}`,
      onProgress: (p) => {
        // the stems are encoded (their encoders run): ffmpeg is gone before the late tags are added
        if (p.stage !== 'write' || broken) return;
        broken = true;
        process.env.STEMDECK_FFMPEG = path.join(work, 'no-ffmpeg-here');
      },
    });
  } finally {
    if (env === undefined) delete process.env.STEMDECK_FFMPEG;
    else process.env.STEMDECK_FFMPEG = env;
  }
  assert.ok(broken, 'the job reached its write stage');
  assert.equal(r.music?.key?.name, 'A minor', 'the analysis worked: the stems had tags to get');
  assert.deepEqual(
    r.warnings.map((w) => w.code),
    ['output-tags-missing'],
    'one warning for both stems',
  );
  assert.match(
    r.warnings[0].message,
    /^"Song - vocals\.flac", "Song - other\.flac" are complete but have no BPM\/INITIALKEY tag: adding it failed \(STEMDECK_FFMPEG points to .*\)\. Tag them in your music library or DAW if you need it\.$/,
  );
  assert.deepEqual(Object.keys(r.outputs).sort(), ['other', 'vocals']);
  for (const file of Object.values(r.outputs)) {
    const tags = readAudioTags(file);
    assert.equal(tags.BPM, undefined, `${file}: ${JSON.stringify(tags)}`);
    assert.equal(tags.INITIALKEY, undefined);
  }
  assert.deepEqual(printed, [], 'nothing on the console');
});

// The stream's analysis fails only on a fault of its own (no input makes it throw), so this drives
// the job's sink directly (the real plan, decode, sink and MixtureAnalysis, as both the stream and
// the live mode use them) with the analysis failed the way the live mode fails it when its analyser
// cannot be created.
test('a failed tempo/key analysis leaves the stems without tempo/key, with an analysis-failed warning that says what to do', async (t) => {
  const printed = watchConsole(t);
  const outDir = path.join(work, 'analysis');
  const model = await resolveModel(identityWaveform);
  assert.ok(!isCascadeModel(model));
  const plan = planSeparation(model, [model], { format: 'flac' });
  const analysis = new MixtureAnalysis(true);
  analysis.fail(new Error('its FFT could not be set up'));
  async function* identityStems(): AsyncGenerator<Float32Array[][]> {
    for await (const c of decodeAudio(song, { sampleRate: plan.sampleRate, channels: plan.channels })) yield plan.stems.map(() => c);
  }
  const r = await writeStems({ input: song, outDir }, plan, identityStems(), analysis, () => undefined);
  assert.equal(r.music, null);
  assert.deepEqual(
    r.warnings.map((w) => w.code),
    ['analysis-failed'],
  );
  assert.match(
    r.warnings[0].message,
    /^The tempo and key of ".*Song in A minor\.flac" could not be detected \(its FFT could not be set up\)\. The stems are complete but carry no tempo or key; set them in your DAW if you need them, or separate the song again to retry\.$/,
  );
  for (const file of Object.values(r.targets)) {
    assert.ok(fs.statSync(file).size > 0, file);
    assert.equal(readAudioTags(file).BPM, undefined);
  }
  assert.deepEqual(printed, [], 'nothing on the console');
});
