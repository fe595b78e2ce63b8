/**
 * The third-party contracts (HTDemucs Mixxx export, UVR MDX-Net) run end to end with stand-in
 * models of exactly their I/O (training/export_contract_fixtures.py, test/models-manager/fixtures):
 * imported like a user would, then separated by the engine (separateFile); the CLI runs are in
 * contracts-cli.test.ts.
 *
 *   contract-htdemucs: stem k = W[k]·input, W = 0.1, 0.2, 0.3, 0.4. With Demucs's whole-mixture
 *     normalisation x' = (x − m)/s around it, stem k = W[k]·x + (1 − W[k])·m exactly.
 *   contract-mdx: identity on the cut spectrogram; with compensate c the primary is c·x for a
 *     signal inside the kept band (bins 3 … dimF−1), and the secondary x − c·x.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeAll, separateFile, writeAudio } from '../../src-main/engine/index.js';
import { getRunner, type Runner } from '../../src-main/engine/runner.js';
import { HtdemucsAdapter, demucsWeights } from '../../src-main/engine/adapters/htdemucs.js';
import { createMdxAdapter } from '../../src-main/engine/adapters/mdx.js';
import type { AdapterContext } from '../../src-main/engine/adapters/types.js';
import { importModel } from '../../src-main/engine/models/import.js';
import type { OnnxModel } from '../../src-main/engine/registry.js';
import { tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIX = path.join(here, 'fixtures');
const W = [0.1, 0.2, 0.3, 0.4];
const SR = 44100;
let home: string;

before(async () => {
  home = await tempDir('contracts');
  process.env.STEMDECK_HOME = home;
});
after(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

/** Stereo sines between 150 Hz and 9 kHz (inside every MDX model's kept band), with a DC offset. */
function bandSignal(n: number, dc = 0): Float32Array[] {
  const freqs = [
    [151, 0.2],
    [440, 0.15],
    [1234.5, 0.1],
    [3001, 0.08],
    [8765, 0.05],
  ];
  return [0, 1].map((ch) => {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v = dc;
      for (const [f, a] of freqs) v += a * Math.sin((2 * Math.PI * f * (1 + 0.01 * ch) * i) / SR + ch);
      x[i] = v;
    }
    return x;
  });
}

/** 10·log10(Σ(a−b)² / Σa²) over all channels, over samples [from, length − skipEnd). */
function errDb(ref: Float32Array[], got: Float32Array[], from = 0, skipEnd = from): number {
  let e = 0;
  let p = 0;
  for (let c = 0; c < ref.length; c++) {
    assert.equal(got[c].length, ref[c].length, 'length');
    for (let i = from; i < ref[c].length - skipEnd; i++) {
      const d = ref[c][i] - got[c][i];
      e += d * d;
      p += ref[c][i] * ref[c][i];
    }
  }
  return e === 0 ? -Infinity : 10 * Math.log10(e / p);
}

function scaled(x: Float32Array[], a: number, b = 0): Float32Array[] {
  return x.map((ch) => ch.map((v) => a * v + b));
}

function ctxFor(session: Runner): AdapterContext {
  return { session, preferredBatch: 2, run: (feeds) => session.run(feeds) };
}

function mean(x: Float32Array[]): { m: number; s: number } {
  const n = x[0].length;
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < n; i++) {
    const v = (x[0][i] + x[1][i]) / 2;
    sum += v;
    sum2 += v * v;
  }
  const m = sum / n;
  return { m, s: Math.sqrt((sum2 - n * m * m) / (n - 1)) };
}

describe('third-party contracts', () => {
  let htModel: OnnxModel;
  let mdxModel: OnnxModel;

  before(async () => {
    const models = path.join(home, 'models');
    const ht = await importModel(path.join(FIX, 'contract-htdemucs.onnx'), { modelsDir: models, params: { id: 'test-htdemucs' } });
    const mdx = await importModel(path.join(FIX, 'contract-mdx.onnx'), {
      modelsDir: models,
      params: { id: 'test-mdx', nFft: 6144, compensate: 1.035, primary: 'vocals' },
    });
    htModel = { manifest: ht.manifest, dir: ht.dir, manifestPath: path.join(ht.dir, 'manifest.json'), origin: 'user' };
    mdxModel = { manifest: mdx.manifest, dir: mdx.dir, manifestPath: path.join(mdx.dir, 'manifest.json'), origin: 'user' };
  });

  it('HTDemucs adapter: [1, 2, 343980] → [1, 4, 2, 343980] in drums, bass, other, vocals order', async () => {
    const session = await getRunner(path.join(htModel.dir, htModel.manifest.files[0].path), { worker: false });
    const adapter = new HtdemucsAdapter(htModel, ctxFor(session));
    assert.equal(adapter.segmentSamples, 343980);
    assert.deepEqual(adapter.stems, ['drums', 'bass', 'other', 'vocals']);
    const seg = bandSignal(343980);
    const [stems] = await adapter.process([seg]);
    stems.forEach((st, k) => assert.ok(errDb(scaled(seg, W[k]), st) < -100, `stem ${k}`));
    const w = demucsWeights(10);
    assert.deepEqual([...w].map((v) => Math.round(v * 5)), [1, 2, 3, 4, 5, 5, 4, 3, 2, 1]);
  });

  it('MDX-Net adapter: cut STFT → model → iSTFT reconstructs in-band input within −60 dB; secondary = mixture − primary', async () => {
    const session = await getRunner(path.join(mdxModel.dir, mdxModel.manifest.files[0].path), { worker: false });
    const adapter = await createMdxAdapter(mdxModel, ctxFor(session));
    assert.equal(adapter.segmentSamples, 261120);
    assert.equal(adapter.maxBatch, 2, 'symbolic batch → the engine\'s preferred batch');
    const a = bandSignal(261120);
    const b = bandSignal(261120).map((ch) => ch.reverse());
    const out = await adapter.process([a, b]);
    // A segment's first/last nFft samples are inexact (reflect padding's content above dimF is
    // cut); UVR's placement (adapter.placement) puts nFft/2 zeros before the file and Hann-blends them.
    for (const [i, seg] of [a, b].entries()) {
      const [primary, secondary] = out[i];
      const e = errDb(scaled(seg, 1.035), primary, 6144);
      assert.ok(e < -60, `primary error ${e.toFixed(1)} dB`);
      assert.ok(errDb(scaled(seg, -0.035), secondary, 6144) < -40, 'secondary = x − 1.035·x');
    }
    const p = adapter.placement!(mdxModel.manifest.segment.overlap);
    assert.deepEqual([p.leadIn, p.stride, p.tail], [3072, 261120 - 6144, 'cut'], "UVR's Default overlap: step = chunk − nFft");
    const w = p.window(261120);
    assert.ok(w[0] === 0 && w[261119] === 0 && Math.abs(w[130559] - 1) < 1e-6, 'symmetric Hann');
  });

  it('MDX-Net adapter matches a torch transcription of UVR\'s chunk maths (channel layout L re, L im, R re, R im)', async (t) => {
    const py = '/usr/bin/python3';
    if (spawnSync(py, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status !== 0) {
      t.skip('/usr/bin/python3 with torch is not available');
      return;
    }
    const file = path.join(FIX, 'contract-mdx-gains.onnx');
    const gains = await importModel(file, { modelsDir: path.join(home, 'models'), params: { id: 'test-mdx-gains', nFft: 6144, compensate: 1.035, primary: 'vocals' } });
    const model: OnnxModel = { manifest: gains.manifest, dir: gains.dir, manifestPath: path.join(gains.dir, 'manifest.json'), origin: 'user' };
    const session = await getRunner(path.join(model.dir, model.manifest.files[0].path), { worker: false });
    const adapter = await createMdxAdapter(model, ctxFor(session));
    // Broadband, different per channel: noise + sines (the layout must not cancel out).
    const n = 261120;
    let seed = 11;
    const seg = [0, 1].map((ch) => {
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        x[i] = 0.05 * (seed / 0x7fffffff - 0.5) + 0.3 * Math.sin((2 * Math.PI * (ch ? 330 : 220) * i) / SR + ch);
      }
      return x;
    });
    const [[primary]] = await adapter.process([seg]);
    const inFile = path.join(home, 'mdx-ref-in.f32');
    const outFile = path.join(home, 'mdx-ref-out.f32');
    const flat = new Float32Array(2 * n);
    flat.set(seg[0], 0);
    flat.set(seg[1], n);
    await fs.writeFile(inFile, Buffer.from(flat.buffer));
    const r = spawnSync(py, [path.join(here, 'mdx_reference.py'), inFile, outFile, '6144', '2048', '256', '1.035', '1', '0.5', '0.25', '2'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ref = new Float32Array((await fs.readFile(outFile)).buffer.slice(0));
    const refPlanar = [ref.subarray(0, n), ref.subarray(n, 2 * n)];
    const e = errDb(refPlanar, primary);
    assert.ok(e < -80, `adapter vs torch reference: ${e.toFixed(1)} dB`);
    // and the layout matters: the same maths with L and R swapped is far off
    assert.ok(errDb(refPlanar, [primary[1], primary[0]]) > -10);
  });

  it('HTDemucs contract through separateFile: 25 % overlap, triangular weights, mixture mean/std normalisation', async () => {
    const n = 3 * 343980 + 12345; // four segments, the last one partial
    const x = bandSignal(n, 0.05);
    const input = path.join(home, 'ht-in.wav');
    await writeAudio(input, x, SR, 'wav');
    const out = path.join(home, 'ht-out');
    const r = await separateFile({ input, outDir: out, model: htModel, format: 'wav' });
    assert.deepEqual(Object.keys(r.outputs).sort(), ['bass', 'drums', 'other', 'vocals']);
    const { m } = mean(x);
    for (const [k, stem] of ['drums', 'bass', 'other', 'vocals'].entries()) {
      const got = await decodeAll(r.outputs[stem], { sampleRate: SR, channels: 2 });
      // Demucs: ((x − m)/s)·W·s + m — the mean comes back on every stem.
      const e = errDb(scaled(x, W[k], (1 - W[k]) * m), got);
      assert.ok(e < -60, `${stem}: ${e.toFixed(1)} dB`);
    }
  });

  it('MDX-Net contract through separateFile: primary = compensate · x, secondary = x − primary', async () => {
    const n = 4 * 261120 + 777;
    const x = bandSignal(n);
    const input = path.join(home, 'mdx-in.wav');
    await writeAudio(input, x, SR, 'wav');
    const r = await separateFile({ input, outDir: path.join(home, 'mdx-out'), model: mdxModel, format: 'wav' });
    assert.deepEqual(Object.keys(r.outputs).sort(), ['instrumental', 'vocals']);
    const vocals = await decodeAll(r.outputs.vocals, { sampleRate: SR, channels: 2 });
    const inst = await decodeAll(r.outputs.instrumental, { sampleRate: SR, channels: 2 });
    // Inside the file every sample comes from a segment interior; the file's own first/last nFft
    // samples can only come from an edge (an abrupt start has content above dimF, which the cut removes).
    const e = errDb(scaled(x, 1.035), vocals, 6144);
    assert.ok(e < -60, `primary: ${e.toFixed(1)} dB`);
    // secondary + primary = mixture (exactly, up to float rounding)
    const sum = vocals.map((ch, c) => ch.map((v, i) => v + inst[c][i]));
    assert.ok(errDb(x, sum) < -100, 'stems sum to the mixture');
  });
});
