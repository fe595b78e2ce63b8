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
 * Overlap between segments: 3·nFft (manifest segment.overlap, see mdxSegment) blended by
 * `window()` so that no output sample comes from a segment's inexact edge (see there).
 * UVR options left out (off by default in UVR): denoise (model(−x)), pitch shifting, and the
 * "match frequency" variant that re-synthesises the mixture through the same cut STFT.
 *
 * Shapes at the boundary: segments[b][c] = Float32Array(segment), c ∈ {L, R};
 * result[b] = [primary, secondary], each [c] = Float32Array(segment).
 */
import type { OnnxModel } from '../registry.js';
import type { AdapterContext, ModelAdapter, Planar } from './types.js';
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

  /**
   * Overlap-add weights. Near a segment's edges (nFft samples) the cut STFT of a reflect-padded
   * segment is inexact (the padding's broadband content above dimF is removed), so those samples
   * get a negligible weight and a linear crossfade runs between them: with the manifest overlap
   * of 3·nFft (mdxSegment) every output sample comes from a segment interior. UVR's default
   * blends Hann-weighted chunks overlapping by only nFft, where both neighbours are edge samples;
   * this keeps UVR's per-segment maths and changes only the blend (an identity model then
   * reconstructs to < −60 dB, where UVR's blend reaches about −50 dB).
   */
  window(segmentSamples: number, overlapSamples: number): Float32Array {
    const n = segmentSamples;
    const w = new Float32Array(n).fill(1);
    const edge = Math.min(this.nFft, Math.floor(overlapSamples / 3), Math.floor(n / 4));
    const ramp = Math.max(0, Math.min(overlapSamples - 2 * edge, Math.floor(n / 2) - edge));
    for (let i = 0; i < edge; i++) w[i] = w[n - 1 - i] = 1e-6;
    for (let j = 0; j < ramp; j++) w[edge + j] = w[n - 1 - edge - j] = (j + 1) / (ramp + 1);
    return w;
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
