/**
 * Spectrogram families; the engine runs STFT/iSTFT outside the graph (manifest.stft: periodic
 * Hann, nFft/hop, centred with reflect padding). Per segment of N samples: T = stft.frames(N)
 * frames, the model sees the lowest F = stft.bins bins; bins above F are zero on output.
 *
 * - io "complex-spectrogram": input [B, 2C, F, T] (c0 re, c0 im, c1 re, c1 im, …)
 *   → output [B, S, 2C, F, T] complex spectrogram per stem → iSTFT.
 * - io "magnitude-mask": input [B, C, F, T] magnitudes → output [B, S, C, F, T], either masks
 *   (Ŷ = mask · X) or magnitudes (Ŷ = |Ŷ| · X/|X|, the mixture phase). With
 *   magnitude.wienerIterations = k > 0, the stem estimates are refined by k rounds of
 *   single-channel Wiener filtering: v_j = |Ŷ_j|², Ŷ_j ← v_j / Σ_k v_k · X (so they sum to X).
 */
import type { OnnxModel } from '../registry.js';
import { ort } from '../onnx.js';
import { Stft } from '../stft.js';
import { StemdeckError } from '../errors.js';
import type { AdapterContext, ModelAdapter, Planar } from './types.js';
import { contractError, expectDims, graphBatch, requireNames } from './common.js';

abstract class SpectrogramAdapter implements ModelAdapter {
  readonly segmentSamples: number;
  readonly maxBatch: number;
  readonly stems: string[];
  protected readonly stft: Stft;
  protected readonly F: number;
  protected readonly T: number;

  constructor(
    protected readonly model: OnnxModel,
    protected readonly ctx: AdapterContext,
  ) {
    const m = model.manifest;
    if (!m.stft) throw new StemdeckError('model-contract', `Model "${m.id}" (io ${m.io}) has no "stft" in its manifest.`);
    requireNames(ctx.session, m);
    this.segmentSamples = m.segment.samples;
    this.stems = m.stems;
    this.stft = new Stft(m.stft.nFft, m.stft.hop, m.stft.center);
    this.F = m.stft.bins;
    this.T = this.stft.frames(this.segmentSamples);
    this.maxBatch = graphBatch(ctx.session, m.tensors.input, ctx.preferredBatch);
  }

  abstract process(segments: Planar[], need?: readonly boolean[]): Promise<Planar[][]>;

  private zerosBuf: Float32Array | null = null;
  /** A shared all-zero segment for stems the engine does not need. */
  protected zeros(): Float32Array {
    this.zerosBuf ??= new Float32Array(this.segmentSamples);
    return this.zerosBuf;
  }

  protected async runModel(input: Float32Array, dims: number[], outDims: number[]): Promise<Float32Array> {
    const m = this.model.manifest;
    let out: Record<string, ort.Tensor>;
    try {
      out = await this.ctx.run({ [m.tensors.input]: new ort.Tensor('float32', input, dims) });
    } catch (e) {
      throw contractError(m, e);
    }
    return expectDims(m, out[m.tensors.output], outDims);
  }
}

export class ComplexSpectrogramAdapter extends SpectrogramAdapter {
  async process(segments: Planar[], need?: readonly boolean[]): Promise<Planar[][]> {
    const m = this.model.manifest;
    const B = segments.length;
    const C = m.channels;
    const S = m.stems.length;
    const { F, T } = this;
    const plane = F * T;
    const input = new Float32Array(B * 2 * C * plane);
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        const o = (b * 2 * C + 2 * c) * plane;
        this.stft.forwardInto(segments[b][c], input.subarray(o, o + plane), input.subarray(o + plane, o + 2 * plane), F);
      }
    const data = await this.runModel(input, [B, 2 * C, F, T], [B, S, 2 * C, F, T]);
    const N = this.segmentSamples;
    const result: Planar[][] = [];
    for (let b = 0; b < B; b++) {
      const stems: Planar[] = [];
      for (let s = 0; s < S; s++) {
        const ch: Planar = [];
        for (let c = 0; c < C; c++) {
          if (need && need[s] === false) {
            ch.push(this.zeros());
            continue;
          }
          const o = ((b * S + s) * 2 * C + 2 * c) * plane;
          ch.push(this.stft.inverse(data.subarray(o, o + plane), data.subarray(o + plane, o + 2 * plane), F, T, N));
        }
        stems.push(ch);
      }
      result.push(stems);
    }
    return result;
  }
}

export class MagnitudeMaskAdapter extends SpectrogramAdapter {
  private scratchRe: Float32Array | null = null;
  private scratchIm: Float32Array | null = null;

  async process(segments: Planar[], need?: readonly boolean[]): Promise<Planar[][]> {
    const m = this.model.manifest;
    const mode = m.magnitude?.output ?? 'mask';
    const iters = m.magnitude?.wienerIterations ?? 0;
    const B = segments.length;
    const C = m.channels;
    const S = m.stems.length;
    const { F, T } = this;
    const plane = F * T;
    // mixture spectrogram kept for phase reuse: [B·C] re/im planes
    const mixRe: Float32Array[] = [];
    const mixIm: Float32Array[] = [];
    const input = new Float32Array(B * C * plane);
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        const re = new Float32Array(plane);
        const im = new Float32Array(plane);
        this.stft.forwardInto(segments[b][c], re, im, F);
        mixRe.push(re);
        mixIm.push(im);
        const mag = input.subarray((b * C + c) * plane, (b * C + c + 1) * plane);
        for (let i = 0; i < plane; i++) mag[i] = Math.sqrt(re[i] * re[i] + im[i] * im[i]);
      }
    const data = await this.runModel(input, [B, C, F, T], [B, S, C, F, T]);
    const N = this.segmentSamples;
    const result: Planar[][] = [];
    for (let b = 0; b < B; b++) result.push(Array.from({ length: S }, () => [] as Planar));
    // unit phasor of the mixture (for magnitude outputs): X/|X|, or (1, 0) where |X| = 0
    const ur = mode === 'magnitude' ? new Float32Array(plane) : null;
    const ui = mode === 'magnitude' ? new Float32Array(plane) : null;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        const xr = mixRe[b * C + c];
        const xi = mixIm[b * C + c];
        if (ur && ui) {
          const mag = input.subarray((b * C + c) * plane, (b * C + c + 1) * plane);
          for (let i = 0; i < plane; i++) {
            const g = mag[i] > 1e-20 ? 1 / mag[i] : 0;
            ur[i] = g ? xr[i] * g : 1;
            ui[i] = xi[i] * g;
          }
        }
        const pr = ur ?? xr;
        const pi = ui ?? xi;
        if (iters === 0) {
          // no Wiener refinement: one scratch spectrogram, iSTFT each stem right away
          const r = (this.scratchRe ??= new Float32Array(plane));
          const im = (this.scratchIm ??= new Float32Array(plane));
          for (let s = 0; s < S; s++) {
            if (need && need[s] === false) {
              result[b][s].push(this.zeros());
              continue;
            }
            const o = ((b * S + s) * C + c) * plane;
            const v = data.subarray(o, o + plane);
            for (let i = 0; i < plane; i++) {
              r[i] = v[i] * pr[i];
              im[i] = v[i] * pi[i];
            }
            result[b][s].push(this.stft.inverse(r, im, F, T, N));
          }
          continue;
        }
        const yr: Float32Array[] = [];
        const yi: Float32Array[] = [];
        for (let s = 0; s < S; s++) {
          const o = ((b * S + s) * C + c) * plane;
          const v = data.subarray(o, o + plane);
          const r = new Float32Array(plane);
          const im = new Float32Array(plane);
          // mask: Ŷ = v·X; magnitude: Ŷ = v·X/|X|
          for (let i = 0; i < plane; i++) {
            r[i] = v[i] * pr[i];
            im[i] = v[i] * pi[i];
          }
          yr.push(r);
          yi.push(im);
        }
        for (let it = 0; it < iters; it++) wiener(yr, yi, xr, xi);
        for (let s = 0; s < S; s++)
          result[b][s].push(need && need[s] === false ? this.zeros() : this.stft.inverse(yr[s], yi[s], F, T, N));
      }
    return result;
  }
}

/** One round of single-channel Wiener filtering, in place: Ŷ_j = v_j / Σ v · X with v_j = |Ŷ_j|². */
function wiener(yr: Float32Array[], yi: Float32Array[], xr: Float32Array, xi: Float32Array): void {
  const S = yr.length;
  const n = xr.length;
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let s = 0; s < S; s++) total += yr[s][i] * yr[s][i] + yi[s][i] * yi[s][i];
    if (total < 1e-20) {
      for (let s = 0; s < S; s++) {
        yr[s][i] = xr[i] / S;
        yi[s][i] = xi[i] / S;
      }
      continue;
    }
    for (let s = 0; s < S; s++) {
      const g = (yr[s][i] * yr[s][i] + yi[s][i] * yi[s][i]) / total;
      yr[s][i] = g * xr[i];
      yi[s][i] = g * xi[i];
    }
  }
}
