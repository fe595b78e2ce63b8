/**
 * The model adapter interface: one adapter per manifest `io` family turns a batch of
 * fixed-length mixture segments into per-stem segments, running the ONNX session.
 *
 * Shapes and units at the boundary (all float32, model sample rate, model channel count C):
 * - input:  segments[b][c]       = Float32Array(segmentSamples), b < maxBatch
 * - output: result[b][s][c]      = Float32Array(segmentSamples), s in `stems` order
 * The engine (separate.ts, stream.ts) does decoding, segmentation and overlap-add (placed as the
 * adapter's `placement` says), optional mixture-std normalisation (manifest.normalize), the
 * residual stem and writing; adapters do only
 * pre-processing → ONNX → post-processing of one batch, and must call `ctx.run` (which times
 * pure inference) for every ONNX call.
 *
 * Third-party families plug in with `registerAdapter` (see ./index.ts):
 *   registerAdapter('htdemucs', (model, ctx) => new HtdemucsAdapter(model, ctx));
 */
import type { IoFamily } from '../manifest.js';
import type { OnnxModel } from '../registry.js';
import type { ort } from '../onnx.js';
import type { ModelGraph } from '../runner.js';
import type { Placement } from '../segments.js';

export type Planar = Float32Array[];

export interface AdapterContext {
  /** The graph's input/output names and metadata (runner.ts; an ort.InferenceSession has them too). */
  session: ModelGraph;
  /** Runs the session and adds the elapsed time to the job's pure inference seconds. */
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  /** Maximum segments per ONNX run the engine would like (the adapter may use fewer). */
  preferredBatch: number;
}

export interface ModelAdapter {
  /** Samples per segment the engine cuts (usually manifest.segment.samples). */
  readonly segmentSamples: number;
  /** Segments per process() call (1 for fixed-batch graphs). */
  readonly maxBatch: number;
  /** Stems returned by process(), in order. */
  readonly stems: string[];
  /**
   * `need[s] === false` (optional hint): stem s will not be used (not written, no residual needs
   * it), so the adapter may skip its post-processing (e.g. the iSTFT) and return zeros for it.
   */
  process(segments: Planar[], need?: readonly boolean[]): Promise<Planar[][]>;
  /**
   * Where segments sit and how they are blended, as the model's reference implementation does it
   * (segments.ts Placement: lead-in, stride, tail handling, blend window), for the overlap the job
   * asked for (the manifest's unless the user gave one). Default: Stemdeck's own even placement
   * (segments.ts evenPlacement: stride from the overlap, last segment zero-padded, trapezoid).
   */
  placement?(overlap: number): Placement;
}

export type AdapterFactory = (model: OnnxModel, ctx: AdapterContext) => ModelAdapter | Promise<ModelAdapter>;

export type AdapterFamily = IoFamily;
