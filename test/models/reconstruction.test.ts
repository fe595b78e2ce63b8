// Every bundled model, on a real song (the shared MUSDB clip's mixture): its stems sum back to the
// input within 0.1 dB, and together they keep the band above 11 kHz (a model that drops it — as
// Spleeter's default mask extension and our first seeds did — would lose the song's air).
// The default model and spleeter-2stems must also keep that band in the vocals stem itself.
// The clip's true stems are only used to know how much air the vocals really have (reporting).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { decodeAll } from '../../src-main/engine/decode.js';
import { loadRegistry } from '../../src-main/engine/registry.js';
import { separateFile } from '../../src-main/engine/separate.js';
import { Stft } from '../../src-main/engine/stft.js';
import { isolateHome, realClip, skipUnlessShared, tempDir } from '../engine/helpers.js';

const SR = 44100;
const SPLIT_HZ = 11025; // Spleeter's U-Nets see bins below 11 kHz only (1024 of 2049 at nFft 4096)
/** Stems that must carry their own band above 11 kHz (not only via the residual). */
const AIR_MODELS = new Set(['spleeter-2stems', 'spleeter-vocals']);

isolateHome();

function energy(x: Float32Array[]): number {
  let e = 0;
  for (const ch of x) for (let i = 0; i < ch.length; i++) e += ch[i] * ch[i];
  return e;
}

/** Energy of [channels][frames] audio above `hz`, from an STFT (4096 / 1024, periodic Hann). */
async function highBandEnergy(x: Float32Array[], hz: number): Promise<number> {
  const stft = await Stft.create(4096, 1024);
  const from = Math.ceil((hz / SR) * 4096);
  let e = 0;
  for (const ch of x) {
    const { re, im, bins, frames } = stft.forward(ch);
    for (let b = from; b < bins; b++) for (let t = 0; t < frames; t++) e += re[b * frames + t] ** 2 + im[b * frames + t] ** 2;
  }
  return e;
}

function sum(stems: Float32Array[][]): Float32Array[] {
  return stems[0].map((_, c) => {
    const out = new Float32Array(stems[0][c].length);
    for (const s of stems) for (let i = 0; i < out.length; i++) out[i] += s[c][i];
    return out;
  });
}

function db(ratio: number): number {
  return 10 * Math.log10(ratio);
}

const registry = await loadRegistry();
const bundled = registry.list().filter((m) => m.origin === 'bundled');

test('the bundled models are found', () => {
  assert.ok(bundled.length >= 5, `found ${bundled.map((m) => m.manifest.id).join(', ')}`);
});

const clipSkip = skipUnlessShared(realClip);
const mixture = fs.existsSync(realClip) ? await decodeAll(realClip, { sampleRate: SR, channels: 2, stream: 0 }) : null;
const trueVocals = fs.existsSync(realClip) ? await decodeAll(realClip, { sampleRate: SR, channels: 2, stream: 4 }) : null;

for (const model of bundled) {
  const id = model.manifest.id;
  const isDefault = registry.defaultId === id;
  test(`${id}: stems sum to the real song within 0.1 dB and keep the band above 11 kHz`, { skip: clipSkip }, async () => {
    const out = tempDir('stemdeck-recon-');
    try {
      const r = await separateFile({ input: realClip, outDir: out, model: id, format: 'wav', threads: 1 });
      const stems: Record<string, Float32Array[]> = {};
      for (const [stem, file] of Object.entries(r.outputs)) stems[stem] = await decodeAll(file, { sampleRate: SR, channels: 2 });
      const x = mixture!;
      const total = sum(Object.values(stems));
      assert.equal(total[0].length, x[0].length, 'stems have the input length');
      const err = x.map((ch, c) => ch.map((v, i) => v - total[c][i]));
      const recon = db(energy(x) / energy(err));
      const level = Math.abs(db(energy(total) / energy(x)));
      assert.ok(level <= 0.1, `sum of stems is ${level.toFixed(3)} dB off the input level`);
      assert.ok(recon >= 40, `stems reconstruct the input at ${recon.toFixed(1)} dB (want ≥ 40)`);
      const hiIn = await highBandEnergy(x, SPLIT_HZ);
      const hiSum = await highBandEnergy(total, SPLIT_HZ);
      const hiLevel = Math.abs(db(hiSum / hiIn));
      assert.ok(hiLevel <= 0.1, `the stems' band above 11 kHz is ${hiLevel.toFixed(3)} dB off the input's`);
      if ((AIR_MODELS.has(id) || isDefault) && stems.vocals && trueVocals) {
        // how much of the true vocals' air the vocal stem carries (0 dB = as much as the truth)
        const air = db((await highBandEnergy(stems.vocals, SPLIT_HZ)) / (await highBandEnergy(trueVocals, SPLIT_HZ)));
        assert.ok(air > -10, `vocals above 11 kHz are ${air.toFixed(1)} dB below the true vocals' (want > −10 dB)`);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
}

test('the test can fail: a stem set missing its high band is caught', async () => {
  if (!mixture) return;
  const stft = await Stft.create(4096, 1024);
  // a 4-sample moving average removes most energy near Nyquist: the high band must differ clearly
  const lowpassed = mixture.map((ch) => ch.map((_, i) => (ch[i] + (ch[i - 1] ?? 0) + (ch[i - 2] ?? 0) + (ch[i - 3] ?? 0)) / 4));
  const hiIn = await highBandEnergy(mixture, SPLIT_HZ);
  const hiLow = await highBandEnergy(lowpassed, SPLIT_HZ);
  assert.ok(Math.abs(db(hiLow / hiIn)) > 0.1, `${stft.nFft}: low-passed copy must fail the band check`);
});

