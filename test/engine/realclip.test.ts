/**
 * The real MUSDB clip separated end to end with the default bundled model: every stem exactly
 * the input length, and with the residual stem on the stems sum to the mixture within −60 dB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile, loadRegistry, decodeAll, probeAudio } from '../../src-main/engine/index.js';
import { errorDb, isolateHome, listFiles, realClip, skipUnlessShared, tempDir } from './helpers.js';

test('real clip with the default bundled model', { skip: skipUnlessShared(realClip) }, async () => {
  isolateHome();
  const reg = await loadRegistry();
  assert.ok(reg.defaultId, 'a default model is bundled');
  const model = reg.get(reg.defaultId!);
  assert.equal(model.origin, 'bundled');
  const out = tempDir();
  const info = await probeAudio(realClip);
  const r = await separateFile({ input: realClip, outDir: out, model: reg.defaultId!, residual: true, format: 'wav' });
  const mix = await decodeAll(realClip, { sampleRate: 44100, channels: 2 });
  assert.equal(r.frames, mix[0].length);
  assert.ok(Math.abs(r.durationSeconds - info.durationSeconds) < 0.05);
  assert.deepEqual(listFiles(out), model.manifest.stems.map((s) => `${s}.wav`).sort());
  const sum = [new Float32Array(r.frames), new Float32Array(r.frames)];
  for (const stem of model.manifest.stems) {
    const y = await decodeAll(r.outputs[stem], { sampleRate: 44100, channels: 2 });
    assert.equal(y[0].length, mix[0].length, `${stem}: sample-exact length`);
    for (let c = 0; c < 2; c++) for (let i = 0; i < r.frames; i++) sum[c][i] += y[c][i];
  }
  const e = errorDb(mix, sum);
  assert.ok(e < -60, `stems sum to the mixture: ${e.toFixed(1)} dB`);
  console.log(
    `# ${r.model}: ${r.durationSeconds.toFixed(2)} s in ${r.seconds.toFixed(2)} s (${r.realtimeFactor.toFixed(1)}× real time), inference ${r.inferenceSeconds.toFixed(2)} s, sum error ${e.toFixed(1)} dB`,
  );
  fs.rmSync(out, { recursive: true, force: true });
  assert.ok(path.isAbsolute(r.outputs[model.manifest.stems[0]]));
});
