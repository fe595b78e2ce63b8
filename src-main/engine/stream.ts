/**
 * The separation stream: planar chunks of a signal in → (optional whole-signal normalisation) →
 * segments placed as the adapter declares (its reference's lead-in, stride, tail and blend window;
 * segments.ts Placement) → model adapter → overlap-add → (normalisation undone) → optional
 * residual stem → finished stem planes out, in order, as an async generator. No files and
 * no ONNX Runtime here beyond the adapter it is given, so it runs on in-memory arrays as well as on
 * ffmpeg's decode pipe (separate.ts), and a cascade is a stream feeding a stream (cascadeStream).
 *
 * Memory is O(segment · batch · depth) per stream, whatever the signal's length: the segmenter holds
 * one segment, at most `depth` batches are in flight, the overlap-add holds one segment per stem,
 * and the input FIFO (for the residual / the next cascade stage) holds what has been pushed but not
 * yet emitted (about one segment plus the in-flight batches).
 *
 * Cancel: the AbortSignal is checked after every input chunk and every finished batch; stopping
 * early (an error, a `break` of the consumer) waits for the runs in flight and returns the input
 * iterator (which stops ffmpeg).
 *
 * Shapes: Planar = [channels][frames]; a chunk's `stems` = [stems][channels][frames] in the
 * adapter's stem order; every chunk of one stream has the same frames in `input` and each stem.
 */
import { StemdeckError } from './errors.js';
import type { ModelAdapter, Planar } from './adapters/types.js';
import { OverlapAdd, Segmenter, evenPlacement, type Segment } from './segments.js';

export interface StreamChunk {
  /** The input frames these stems were separated from (null unless `keepInput` or a residual). */
  input: Planar | null;
  /** [stems][channels][frames], the adapter's stem order; unneeded stems may be silent. */
  stems: Planar[];
}

export interface StreamProgress {
  /** Frames emitted so far. */
  emitted: number;
  /** Frames received so far. */
  received: number;
  /** True once the input ended (`received` is then the total). */
  ended: boolean;
}

export interface StreamOptions {
  adapter: ModelAdapter;
  channels: number;
  /** Segment overlap 0..0.9, handed to the adapter's placement (adapter.placement). */
  overlap: number;
  /**
   * Demucs-style normalisation by the whole mixture's mean/std (streamStats), as Demucs keeps it
   * outside apply_model: the signal is fed as (x − mean) / std, so zero padding happens after it,
   * and every stem is scaled back by · std + mean before the residual.
   */
  normalize?: { mean: number; std: number };
  /** need[s] === false: stem s is not used (adapter hint). Default: all needed. */
  need?: readonly boolean[];
  /** Stem derived as input − Σ(other stems); −1 for none. */
  residualIdx?: number;
  /** Batches in flight at once (default 2), so pre/post-processing overlaps inference. */
  depth?: number;
  /** Also emit the input frames of each chunk (a cascade's next stage needs them). */
  keepInput?: boolean;
  signal?: AbortSignal;
  onProgress?(p: StreamProgress): void;
}

export function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new StemdeckError('cancelled', 'The separation was cancelled.');
}

/** FIFO of frame-aligned groups of planar signals (e.g. [mixture, kept stem, …]). */
export class PlanesFifo {
  private readonly queue: Planar[][] = [];
  private offset = 0;
  /** Frames held. */
  frames = 0;

  push(planes: Planar[]): void {
    const n = planes[0]?.[0]?.length ?? 0;
    if (n === 0) return;
    this.queue.push(planes);
    this.frames += n;
  }

  /** The next n frames of every plane (zeros past what was pushed). */
  take(n: number, shape: readonly number[]): Planar[] {
    const out = shape.map((channels) => Array.from({ length: channels }, () => new Float32Array(n)));
    let o = 0;
    while (o < n && this.queue.length) {
      const head = this.queue[0];
      const avail = head[0][0].length - this.offset;
      const k = Math.min(avail, n - o);
      for (let p = 0; p < out.length; p++)
        for (let c = 0; c < out[p].length; c++) out[p][c].set(head[p][c].subarray(this.offset, this.offset + k), o);
      o += k;
      this.offset += k;
      if (this.offset >= head[0][0].length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    this.frames -= o;
    return out;
  }
}

/** a − Σ b (per channel, in b's order), float32 as written sample by sample. */
export function subtract(a: Planar, bs: readonly Planar[]): Planar {
  return a.map((ch, c) => {
    const r = ch.slice();
    for (const b of bs) {
      const x = b[c];
      for (let i = 0; i < r.length; i++) r[i] -= x[i];
    }
    return r;
  });
}

/**
 * The residual stem R, in place: input − Σ the other stems (per channel, in stem order).
 * `stems`: [stems][channels][frames]; `input`: [channels][frames], the same frames.
 */
export function fillResidual(stems: Planar[], input: Planar, R: number): void {
  for (let c = 0; c < input.length; c++) {
    const r = stems[R][c];
    r.set(input[c]);
    for (let s = 0; s < stems.length; s++) {
      if (s === R) continue;
      const x = stems[s][c];
      for (let i = 0; i < r.length; i++) r[i] -= x[i];
    }
  }
}

/**
 * Separates a stream of planar chunks with one model adapter; yields finished stems in order and
 * returns the number of frames.
 */
export async function* separateStream(chunks: AsyncIterable<Planar>, o: StreamOptions): AsyncGenerator<StreamChunk, number, undefined> {
  const { adapter, signal } = o;
  const C = o.channels;
  const N = adapter.segmentSamples;
  const S = adapter.stems.length;
  const placement = adapter.placement?.(o.overlap) ?? evenPlacement(N, o.overlap);
  const stride = placement.stride;
  const leadIn = placement.leadIn;
  const fullWindow = placement.window(N);
  const residualIdx = o.residualIdx ?? -1;
  const need = o.need ?? adapter.stems.map(() => true);
  const depth = Math.max(1, Math.floor(o.depth ?? 2));
  const keepInput = o.keepInput === true || residualIdx >= 0;

  const segmenter = new Segmenter(C, N, placement);
  const ola = new OverlapAdd(S, C, N, stride, N - stride, fullWindow);
  const norm = o.normalize ? { mean: o.normalize.mean, std: o.normalize.std < 1e-8 ? 1 : o.normalize.std } : null;
  let skip = leadIn; // the lead-in's output samples still to drop
  const fifo = keepInput ? new PlanesFifo() : null;
  const shape = [C];
  let emitted = 0;
  let total = -1; // known once the input ends

  type Seg = Segment;
  const queue: Seg[] = [];
  const inflight: { segs: Seg[]; result: Promise<Planar[][]> }[] = [];

  const finished = (padded: Planar[]): StreamChunk | null => {
    // the lead-in's outputs are not the signal's
    const drop = Math.min(skip, padded[0]?.[0]?.length ?? 0);
    skip -= drop;
    const stems = drop > 0 ? padded.map((chs) => chs.map((ch) => ch.subarray(drop))) : padded;
    const n = stems[0]?.[0]?.length ?? 0;
    if (n === 0) return null;
    if (norm)
      for (const chs of stems)
        for (const ch of chs) for (let i = 0; i < n; i++) ch[i] = ch[i] * norm.std + norm.mean;
    const input = fifo ? fifo.take(n, shape)[0] : null;
    if (input && residualIdx >= 0) fillResidual(stems, input, residualIdx);
    emitted += n;
    return { input, stems };
  };

  const launch = (segs: Seg[]): void => {
    const result = adapter.process(
      segs.map((s) => s.data),
      need,
    );
    result.catch(() => undefined); // awaited in order by drain()
    inflight.push({ segs, result });
  };

  async function* drain(): AsyncGenerator<StreamChunk> {
    const job = inflight.shift();
    if (!job) return;
    const results = await job.result;
    for (let b = 0; b < job.segs.length; b++) {
      const seg = job.segs[b];
      const weights = seg.length === N ? fullWindow : placement.window(seg.length);
      const out = finished(ola.add(seg.start, results[b], total >= 0 ? leadIn + total : Infinity, seg.from, seg.length, weights));
      if (out) yield out;
    }
    checkAbort(signal);
    o.onProgress?.({ emitted, received: segmenter.total, ended: total >= 0 });
  }

  async function* pump(final: boolean): AsyncGenerator<StreamChunk> {
    while (queue.length >= adapter.maxBatch || (final && queue.length > 0)) {
      const segs = queue.splice(0, adapter.maxBatch);
      while (inflight.length >= depth) yield* drain();
      checkAbort(signal);
      launch(segs);
    }
  }

  try {
    for await (const chunk of chunks) {
      fifo?.push([chunk]);
      const fed = norm ? chunk.map((ch) => ch.map((v) => (v - norm.mean) / norm.std)) : chunk;
      for (const s of segmenter.push(fed)) queue.push(s);
      yield* pump(false);
      checkAbort(signal);
    }
    total = segmenter.total;
    for (const s of segmenter.flush()) queue.push(s);
    yield* pump(true);
    while (inflight.length) yield* drain();
    const last = finished(ola.finish(leadIn + total));
    if (last) yield last;
    if (emitted !== total) throw new StemdeckError('internal', `Separated ${emitted} frames, expected ${total}.`);
    o.onProgress?.({ emitted, received: total, ended: true });
    return total;
  } finally {
    // an early stop: let the runs in flight finish before their buffers are dropped
    await Promise.allSettled(inflight.map((j) => j.result));
  }
}

export interface CascadeStreamStage extends StreamOptions {
  /** Indices (in this stage's adapter stems) of the stems the cascade keeps from it. */
  keep: readonly number[];
}

export interface CascadeChunk {
  mixture: Planar;
  /** The kept stems of every stage, in stage order ([stems][channels][frames]). */
  stems: Planar[];
}

/**
 * A cascade as streams feeding streams: stage 1 separates the mixture; stage k separates stage
 * k−1's input minus the stems kept from stage k−1 (= the mixture minus every stem kept so far),
 * streamed chunk by chunk as stage k−1 emits it. The mixture and the kept stems wait in a FIFO per
 * stage boundary until the last stage has emitted the same frames (about one segment plus the
 * batches in flight of the later stages), so memory stays O(segment).
 */
export async function* cascadeStream(mixture: AsyncIterable<Planar>, stages: readonly CascadeStreamStage[]): AsyncGenerator<CascadeChunk, number, undefined> {
  if (stages.length === 0) throw new StemdeckError('internal', 'a cascade needs stages');
  const C = stages[0].channels;
  /** What waits at the boundary before the current stage: [mixture, kept of stage 1, …]. */
  let carried: PlanesFifo | null = null;
  let carriedShape: number[] = [];
  let current: AsyncGenerator<StreamChunk, number, undefined> = separateStream(mixture, { ...stages[0], keepInput: true });
  for (let k = 1; k < stages.length; k++) {
    const prev = current;
    const prevCarried = carried;
    const prevShape = carriedShape;
    const keep = stages[k - 1].keep;
    const next = new PlanesFifo();
    const input = (async function* (): AsyncGenerator<Planar> {
      for await (const chunk of prev) {
        const n = chunk.stems[0][0].length;
        const before = prevCarried ? prevCarried.take(n, prevShape) : [chunk.input!];
        const kept = keep.map((i) => chunk.stems[i]);
        next.push([...before, ...kept]);
        yield subtract(chunk.input!, kept);
      }
    })();
    carried = next;
    carriedShape = [...(prevCarried ? prevShape : [C]), ...keep.map(() => C)];
    current = separateStream(input, { ...stages[k], keepInput: true });
  }
  const lastKeep = stages[stages.length - 1].keep;
  let frames = 0;
  for await (const chunk of current) {
    const n = chunk.stems[0][0].length;
    const before = carried ? carried.take(n, carriedShape) : [chunk.input!];
    frames += n;
    yield { mixture: before[0], stems: [...before.slice(1), ...lastKeep.map((i) => chunk.stems[i])] };
  }
  return frames;
}

/** Mean and std of the mono mix of a stream (Demucs' normalisation statistics). */
export async function streamStats(chunks: AsyncIterable<Planar>, onFrames?: (frames: number) => void): Promise<{ mean: number; std: number }> {
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  for await (const chunk of chunks) {
    const channels = chunk.length;
    const len = chunk[0].length;
    for (let i = 0; i < len; i++) {
      let v = 0;
      for (let c = 0; c < channels; c++) v += chunk[c][i];
      v /= channels;
      sum += v;
      sum2 += v * v;
    }
    n += len;
    onFrames?.(n);
  }
  const mean = n ? sum / n : 0;
  const variance = n > 1 ? (sum2 - n * mean * mean) / (n - 1) : 0;
  return { mean, std: Math.sqrt(Math.max(variance, 0)) };
}
