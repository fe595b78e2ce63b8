/**
 * io "waveform" (Demucs-style): input [B, C, N] float32 → output [B, S, C, N].
 * With manifest `refine`, each segment's stems are re-split from its mixture (../refine.ts).
 */
import type { OnnxModel } from '../registry.js';
import { ort } from '../onnx.js';
import type { AdapterContext, ModelAdapter, Planar } from './types.js';
import { contractError, expectDims, graphBatch, requireNames } from './common.js';
import { RatioMaskRefiner } from '../refine.js';

export class WaveformAdapter implements ModelAdapter {
  readonly segmentSamples: number;
  readonly maxBatch: number;
  readonly stems: string[];
  private readonly refiner: RatioMaskRefiner | null;
  constructor(
    private readonly model: OnnxModel,
    private readonly ctx: AdapterContext,
  ) {
    const m = model.manifest;
    requireNames(ctx.session, m);
    this.segmentSamples = m.segment.samples;
    this.stems = m.stems;
    this.maxBatch = graphBatch(ctx.session, m.tensors.input, ctx.preferredBatch);
    this.refiner = m.refine ? new RatioMaskRefiner(m.refine) : null;
  }

  async process(segments: Planar[]): Promise<Planar[][]> {
    const m = this.model.manifest;
    const B = segments.length;
    const C = m.channels;
    const N = this.segmentSamples;
    const S = m.stems.length;
    const input = new Float32Array(B * C * N);
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) input.set(segments[b][c], (b * C + c) * N);
    let out: Record<string, ort.Tensor>;
    try {
      out = await this.ctx.run({ [m.tensors.input]: new ort.Tensor('float32', input, [B, C, N]) });
    } catch (e) {
      throw contractError(m, e);
    }
    const data = expectDims(m, out[m.tensors.output], [B, S, C, N]);
    const result: Planar[][] = [];
    for (let b = 0; b < B; b++) {
      const stems: Planar[] = [];
      for (let s = 0; s < S; s++) {
        const ch: Planar = [];
        for (let c = 0; c < C; c++) {
          const o = ((b * S + s) * C + c) * N;
          ch.push(data.subarray(o, o + N));
        }
        stems.push(ch);
      }
      result.push(this.refiner ? this.refiner.apply(segments[b], stems) : stems);
    }
    return result;
  }
}
