/**
 * Adapter for Mixxx's HTDemucs v4 ONNX export (manifest io "htdemucs"; models.md, third-party
 * contracts): input float32 [1, 2, N] (stereo, 44.1 kHz, N = 343980 = 7.8 s) → output
 * [1, 4, 2, N] in the order drums, bass, other, vocals (the manifest's `stems`).
 *
 * What runs where, as upstream does it (demucs/apply.py + demucs/separate.py, and Mixxx's
 * cppscripts/src/model_apply.cpp which drives this very export):
 * - The graph contains the STFT, both branches, the per-segment normalisation (HTDemucs.forward
 *   normalises its own input by the segment's mean/std and undoes it) and the iSTFT.
 * - The caller normalises the WHOLE mixture first: ref = mean over channels; x = (x − mean(ref)) /
 *   std(ref) (unbiased std), and undoes it on every stem after overlap-add. We concluded the
 *   export expects this from its callers (Mixxx's runner does it), so catalogue/import manifests
 *   say `normalize: "mixture-std"` and the engine (separate.ts) does it around this adapter.
 * - Segments placed and blended as demucs/apply.py `apply_model` (shifts 0, split on,
 *   transition_power 1) does it — `placement()` below, followed by the engine's stream: stride
 *   = int((1 − overlap)·N) (manifest overlap 0.25); a segment at EVERY multiple of the stride
 *   before the end; one the end cuts to L < N samples is fed the N samples centred on it
 *   (TensorChunk.padded: real audio before it, zeros only past the end — after normalisation)
 *   and only its middle L outputs are kept (center_trim), weighted by the first L values of the
 *   triangle 1, 2, …, N/2, …, 2, 1 (not rescaled); Σ weight·y / Σ weight. Demucs's random time
 *   shifts (shifts=1 in its CLI) are not applied: Stemdeck's output is deterministic
 *   (apply_model(shifts=0)). Checked against apply_model on a fixture with the real
 *   architecture (test/parity/reference-fixtures.test.ts, ≥ 60 dB per stem).
 *
 * Shapes at the boundary: segments[b][c] = Float32Array(N); result[b][s][c] = Float32Array(N).
 */
import type { OnnxModel } from '../registry.js';
import type { AdapterContext, ModelAdapter, Planar } from './types.js';
import type { Placement } from '../segments.js';
import { contractError, expectDims, requireNames } from './common.js';
import { StemdeckError } from '../errors.js';
import { ort } from '../onnx.js';
import { registerAdapter } from './index.js';

export class HtdemucsAdapter implements ModelAdapter {
  readonly segmentSamples: number;
  /** The Mixxx graph has a fixed batch of 1. */
  readonly maxBatch = 1;
  readonly stems: string[];
  private readonly channels: number;

  constructor(
    private readonly model: OnnxModel,
    private readonly ctx: AdapterContext,
  ) {
    const m = model.manifest;
    if (m.channels !== 2)
      throw new StemdeckError('model-contract', `Model "${m.id}": the HTDemucs contract is stereo, the manifest says ${m.channels} channel(s).`);
    requireNames(ctx.session, m);
    this.segmentSamples = m.segment.samples;
    this.stems = [...m.stems];
    this.channels = m.channels;
  }

  /** Demucs apply_model's placement (see the file comment). */
  placement(overlap: number): Placement {
    const n = this.segmentSamples;
    const w = demucsWeights(n);
    return {
      leadIn: 0,
      stride: Math.max(1, Math.floor((1 - overlap) * n)),
      tail: 'centre',
      window: (length) => (length >= n ? w : w.subarray(0, length)),
    };
  }

  async process(segments: Planar[]): Promise<Planar[][]> {
    const m = this.model.manifest;
    const n = this.segmentSamples;
    const c = this.channels;
    const s = this.stems.length;
    const out: Planar[][] = [];
    for (const seg of segments) {
      const input = new Float32Array(c * n);
      for (let ch = 0; ch < c; ch++) input.set(seg[ch].subarray(0, n), ch * n);
      let result: Record<string, ort.Tensor>;
      try {
        result = await this.ctx.run({ [m.tensors.input]: new ort.Tensor('float32', input, [1, c, n]) });
      } catch (e) {
        throw contractError(m, e);
      }
      const data = expectDims(m, result[m.tensors.output], [1, s, c, n]);
      const stems: Planar[] = [];
      for (let k = 0; k < s; k++) {
        const planar: Planar = [];
        for (let ch = 0; ch < c; ch++) planar.push(data.slice((k * c + ch) * n, (k * c + ch + 1) * n));
        stems.push(planar);
      }
      out.push(stems);
    }
    return out;
  }
}

export function createHtdemucsAdapter(model: OnnxModel, ctx: AdapterContext): ModelAdapter {
  return new HtdemucsAdapter(model, ctx);
}

registerAdapter('htdemucs', createHtdemucsAdapter);

/** weight = cat(arange(1, N//2 + 1), arange(N − N//2, 0, −1)) / max, as demucs/apply.py. */
export function demucsWeights(n: number): Float32Array {
  const half = Math.floor(n / 2);
  const w = new Float32Array(n);
  for (let i = 0; i < half; i++) w[i] = i + 1;
  for (let i = half; i < n; i++) w[i] = n - i;
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, w[i]);
  for (let i = 0; i < n; i++) w[i] /= max;
  return w;
}
