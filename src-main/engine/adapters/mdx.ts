/**
 * Adapter for UVR MDX-Net ONNX models (manifest io "mdx-net"; models.md, third-party contracts):
 * input/output float32 [B, 4, dimF, dimT] = (L re, L im, R re, R im) of an STFT with hop 1024,
 * periodic Hann, centred (reflect), the model's own nFft, cut to the lowest dimF bins.
 *
 * Per segment, as UVR 5.6 does it (separate.py SeperateMDX.demix / run_model, lib_v5 STFT):
 * - segment = hop·(dimT − 1) samples (261120 for dimT 256), so the centred STFT has dimT frames;
 * - STFT per channel, keep bins 0..dimF−1, zero the lowest 3 bins (`spek[:, :, :3, :] *= 0`);
 * - run the model; pad the cut bins back with zeros; iSTFT (length = segment);
 * - primary = output · compensate (UVR multiplies the primary by the model's compensate);
 * - secondary = mixture − primary (UVR: `mix.T - source.T` when invert-spec is off).
 * Segments placed and blended as UVR's `demix` does it (`placement()` below, followed by the
 * engine's stream): nFft/2 zeros in front of the audio and zeros after it up to a multiple of
 * the chunk's kept part; a chunk at every multiple of step = segment − nFft (UVR's "Default"
 * overlap, which the manifest's own overlap stands for; another overlap o is UVR's numeric one:
 * step = int((1 − o)·segment)) below the padded length, the last ones cut by it (zero-padded for
 * the model, their first L outputs kept); each weighted by a symmetric Hann of its kept length
 * (np.hanning(L)); Σ weight·y / Σ weight; the first nFft/2 output samples dropped. Checked against
 * UVR's procedure on a fixture with the real architecture (test/parity/reference-fixtures.test.ts).
 * UVR options left out (off by default in UVR): denoise (model(−x)), pitch shifting, and the
 * "match frequency" variant that re-synthesises the mixture through the same cut STFT.
 *
 * Shapes at the boundary: segments[b][c] = Float32Array(segment), c ∈ {L, R};
 * result[b] = [primary, secondary], each [c] = Float32Array(segment).
 */
import type { OnnxModel } from '../registry.js';
import type { AdapterContext, ModelAdapter, Planar } from './types.js';
import type { Placement } from '../segments.js';
import { contractError, expectDims, graphBatch, requireNames } from './common.js';
import { StemdeckError } from '../errors.js';
import { ort } from '../onnx.js';
import { Stft } from '../stft.js';
import { registerAdapter } from './index.js';

export const MDX_HOP = 1024;
/** Bins UVR zeroes before the model (DC and the two lowest). */
export const MDX_ZERO_BINS = 3;

export class MdxAdapter implements ModelAdapter {
  readonly segmentSamples: number;
  readonly maxBatch: number;
  readonly stems: string[];
  private readonly dimF: number;
  private readonly dimT: number;
  private readonly compensate: number;
  private readonly nFft: number;

  constructor(
    private readonly model: OnnxModel,
    private readonly ctx: AdapterContext,
    private readonly stft: Stft,
  ) {
    const m = model.manifest;
    if (!m.mdx) throw new StemdeckError('model-contract', `Model "${m.id}" declares io "mdx-net" without its "mdx" parameters.`);
    if (m.channels !== 2) throw new StemdeckError('model-contract', `Model "${m.id}": MDX-Net models are stereo, the manifest says ${m.channels}.`);
    const { nFft, dimF, dimT, compensate, primary, secondary } = m.mdx;
    if (dimF > nFft / 2 + 1) throw new StemdeckError('model-contract', `Model "${m.id}": dimF ${dimF} exceeds nFft/2 + 1 = ${nFft / 2 + 1}.`);
    requireNames(ctx.session, m);
    this.dimF = dimF;
    this.dimT = dimT;
    this.compensate = compensate;
    this.nFft = nFft;
    this.segmentSamples = MDX_HOP * (dimT - 1);
    this.maxBatch = graphBatch(ctx.session, m.tensors.input, ctx.preferredBatch);
    this.stems = [primary, secondary];
  }

  /** UVR's placement (see the file comment). */
  placement(overlap: number): Placement {
    const n = this.segmentSamples;
    const trim = this.nFft / 2;
    const gen = n - 2 * trim;
    const uvrDefault = overlap === this.model.manifest.segment.overlap;
    const step = uvrDefault ? n - this.nFft : Math.max(1, Math.floor((1 - overlap) * n));
    const full = symmetricHann(n);
    // UVR: no window at overlap 0 (each chunk weighs 1)
    const window = !uvrDefault && overlap === 0 ? (length: number) => new Float32Array(length).fill(1) : (length: number) => (length === n ? full : symmetricHann(length));
    return { leadIn: trim, stride: step, tail: 'cut', paddedLength: (total) => trim + total + gen + trim - (total % gen), window };
  }

  /** Writes one segment's cut STFT into `tensor` at batch index b (layout [B, 4, dimF, dimT]). */
  private spectrum(seg: Planar, tensor: Float32Array, b: number): void {
    const plane = this.dimF * this.dimT;
    for (let ch = 0; ch < 2; ch++) {
      const base = (b * 4 + ch * 2) * plane;
      const re = tensor.subarray(base, base + plane);
      const im = tensor.subarray(base + plane, base + 2 * plane);
      const frames = this.stft.forwardInto(seg[ch].subarray(0, this.segmentSamples), re, im, this.dimF);
      if (frames !== this.dimT) throw new StemdeckError('internal', `MDX STFT gave ${frames} frames, expected ${this.dimT}.`);
      re.fill(0, 0, MDX_ZERO_BINS * this.dimT);
      im.fill(0, 0, MDX_ZERO_BINS * this.dimT);
    }
  }

  async process(segments: Planar[]): Promise<Planar[][]> {
    const m = this.model.manifest;
    const plane = this.dimF * this.dimT;
    const out: Planar[][] = [];
    for (let start = 0; start < segments.length; start += this.maxBatch) {
      const batch = segments.slice(start, start + this.maxBatch);
      const b = batch.length;
      const input = new Float32Array(b * 4 * plane);
      batch.forEach((seg, i) => this.spectrum(seg, input, i));
      let result: Record<string, ort.Tensor>;
      try {
        result = await this.ctx.run({ [m.tensors.input]: new ort.Tensor('float32', input, [b, 4, this.dimF, this.dimT]) });
      } catch (e) {
        throw contractError(m, e);
      }
      const data = expectDims(m, result[m.tensors.output], [b, 4, this.dimF, this.dimT]);
      for (let i = 0; i < b; i++) {
        const primary: Planar = [];
        const secondary: Planar = [];
        for (let ch = 0; ch < 2; ch++) {
          const base = (i * 4 + ch * 2) * plane;
          const wave = this.stft.inverse(
            data.subarray(base, base + plane),
            data.subarray(base + plane, base + 2 * plane),
            this.dimF,
            this.dimT,
            this.segmentSamples,
          );
          const mix = batch[i][ch];
          const sec = new Float32Array(this.segmentSamples);
          for (let k = 0; k < wave.length; k++) {
            wave[k] *= this.compensate;
            sec[k] = mix[k] - wave[k];
          }
          primary.push(wave);
          secondary.push(sec);
        }
        out.push([primary, secondary]);
      }
    }
    return out;
  }
}

export async function createMdxAdapter(model: OnnxModel, ctx: AdapterContext): Promise<ModelAdapter> {
  const nFft = model.manifest.mdx?.nFft;
  if (!nFft) throw new StemdeckError('model-contract', `Model "${model.manifest.id}" declares io "mdx-net" without its "mdx" parameters.`);
  return new MdxAdapter(model, ctx, await Stft.create(nFft, MDX_HOP, true));
}

registerAdapter('mdx-net', createMdxAdapter);

/** np.hanning(n): 0.5 − 0.5·cos(2πk/(n − 1)), both ends 0 (n = 1: [1]). */
export function symmetricHann(n: number): Float32Array {
  const w = new Float32Array(n);
  if (n === 1) w[0] = 1;
  for (let k = 0; k < n && n > 1; k++) w[k] = 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / (n - 1));
  return w;
}
