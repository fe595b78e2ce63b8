/**
 * Stems have the input's sample rate and exact length (issue 15.2: no resampled or padded stems),
 * through the real bin with inputs of odd lengths at 44.1, 48 and 96 kHz (the model runs at
 * 44.1 kHz: the stems are resampled back, output/input-rate.ts), and a 48 kHz tone stays a tone at
 * its pitch and level (no drift, no clicks at the chunk joins).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fixtureModel, runCli, tempDir } from './helpers.js';
import { ffmpeg } from '../engine/helpers.js';
import { readWavInfo } from '../../src-main/engine/output/wav.js';
import { decodeAll } from '../../src-main/engine/decode.js';

const model = fixtureModel('identity-waveform');

for (const rate of [44100, 48000, 96000]) {
  test(`${rate / 1000} kHz input: stems at ${rate / 1000} kHz, exactly as long as the input`, async () => {
    const dir = tempDir('stemdeck-rates-');
    const frames = Math.round(2.5 * rate) + 17; // an odd length: no segment or block multiple
    const input = path.join(dir, `tone-${rate}.wav`);
    ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=${rate}`, '-af', `atrim=end_sample=${frames}`, '-ac', '2', '-c:a', 'pcm_s24le', input]);
    const source = await readWavInfo(input);
    assert.equal(source.sampleRate, rate);
    assert.equal(source.frames, frames, 'the input is what the test says');
    const r = await runCli(['separate', input, '--model', model, '--out', path.join(dir, 'out'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    for (const [stem, file] of Object.entries((r.json[0] as { outputs: Record<string, string> }).outputs)) {
      const info = await readWavInfo(file);
      assert.equal(info.sampleRate, rate, `${stem}: rate`);
      assert.equal(info.frames, frames, `${stem}: frames`);
      // the identity model's stem is the input: the same tone, aligned, away from the ends
      const [got] = await decodeAll(file, { sampleRate: rate, channels: 1 });
      const [want] = await decodeAll(input, { sampleRate: rate, channels: 1 });
      let err = 0;
      let sig = 0;
      for (let i = rate / 10; i < frames - rate / 10; i++) {
        err += (got[i] - want[i]) ** 2;
        sig += want[i] ** 2;
      }
      const snr = 10 * Math.log10(sig / err);
      assert.ok(snr > 60, `${stem}: ${snr.toFixed(1)} dB against the input`);
    }
  });
}
