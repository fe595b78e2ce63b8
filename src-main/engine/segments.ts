/**
 * Fixed-length segmentation with overlap and blend weights, streaming in both directions.
 *
 * Where segments sit and how they are blended is a `Placement`, declared by each model adapter
 * (its reference implementation's; adapters/types.ts), so a model is cut as its authors cut it:
 * - Stemdeck's own models (`evenPlacement`, tail "pad"): segment k covers samples
 *   [k·stride, k·stride + N), stride = N − round(N·overlap), until one reaches the end; the last
 *   is zero-padded. Each is weighted by the whole window (default a trapezoid: linear ramps over the
 *   overlap, strictly positive) and the sum divided by the summed window, so an identity model
 *   gives back the input exactly, also at the file's start and end.
 * - Demucs `apply_model` (tail "centre"): a segment at every k·stride < T; one that the end cuts
 *   to L < N samples is fed the N samples centred on it (real audio before it, zeros only outside
 *   the signal) and only its middle L outputs are kept, weighted by the window's first L values.
 * - UVR MDX-Net (tail "cut", lead-in): `leadIn` zeros before the signal and zeros up to
 *   `paddedLength(T)` after it; a segment at every k·stride below that length; one cut to L < N is
 *   zero-padded for the model and its first L outputs kept, weighted by window(L). The output
 *   drops the lead-in.
 * Memory: one segment (plus half a segment of history for "centre") of input, one segment of
 * output accumulator per stem, whatever the file length.
 *
 * Coordinates: segment starts are in the padded signal (lead-in zeros first; sample t of the
 * signal is at leadIn + t). Shapes: planar Float32Array[] = [channels][frames]; stems output =
 * [stems][channels][frames].
 */

export function crossfadeWindow(n: number, overlapSamples: number): Float32Array {
  const w = new Float32Array(n).fill(1);
  const L = Math.min(overlapSamples, Math.floor(n / 2));
  for (let i = 0; i < L; i++) {
    const v = (i + 1) / (L + 1);
    w[i] = v;
    w[n - 1 - i] = v;
  }
  return w;
}

export function segmentStride(n: number, overlap: number): number {
  return Math.max(1, n - Math.round(n * overlap));
}

/** Where segments sit on a signal and how their outputs are weighted (see the file comment). */
export interface Placement {
  /** Zeros before the signal (samples); the output's first `leadIn` samples are dropped. */
  leadIn: number;
  /** Samples between segment starts. */
  stride: number;
  /**
   * - "pad": segments until one reaches the end, the last zero-padded, all weighted by window(N);
   * - "centre": a segment at every k·stride < T, a cut one re-centred on real audio (Demucs);
   * - "cut": a segment at every k·stride < paddedLength(T), a cut one zero-padded at its end (UVR).
   */
  tail: 'pad' | 'centre' | 'cut';
  /** "cut": the padded signal's length (lead-in, signal, trailing zeros) for a signal of `total` samples. */
  paddedLength?(total: number): number;
  /** Weights of a segment whose `length` outputs are kept (length = N but at the end; ≥ 0, length `length`). */
  window(length: number): Float32Array;
}

/** Stemdeck's own placement: stride from the overlap, tail "pad", no lead-in; `window` default the trapezoid. */
export function evenPlacement(n: number, overlap: number, window?: Float32Array): Placement {
  const stride = segmentStride(n, overlap);
  const w = window && window.length === n ? window : crossfadeWindow(n, n - stride);
  return { leadIn: 0, stride, tail: 'pad', window: () => w };
}

/**
 * One segment: model input [channels][N] starting at `start` (padded coordinates), of which the
 * outputs [from, from + length) are kept, for samples [start, start + length).
 */
export interface Segment {
  start: number;
  data: Float32Array[];
  from: number;
  length: number;
}

/** Cuts a stream of planar chunks into overlapping segments of N samples, placed by a Placement. */
export class Segmenter {
  readonly placement: Placement;
  readonly stride: number;
  /** Samples kept before the next segment's start ("centre" re-centres a cut segment on them). */
  private readonly history: number;
  private readonly buf: Float32Array[];
  private bufStart: number; // padded index of buf[0] (= next − history)
  private end: number; // padded index after the last sample held (lead-in included)
  private next = 0; // padded start of the next segment
  private emitted = 0;
  /** Segments made of lead-in zeros alone (a lead-in ≥ N), handed out with the first push/flush. */
  private pending: Segment[];
  total = 0; // signal samples received so far

  constructor(
    readonly channels: number,
    readonly size: number,
    placement: Placement | number,
  ) {
    this.placement = typeof placement === 'number' ? { leadIn: 0, stride: placement, tail: 'pad', window: () => new Float32Array(0) } : placement;
    this.stride = this.placement.stride;
    this.history = this.placement.tail === 'centre' ? Math.ceil(size / 2) : 0;
    this.buf = Array.from({ length: channels }, () => new Float32Array(this.history + size));
    this.bufStart = -this.history;
    this.end = 0;
    this.pending = this.skipZeros(Math.max(0, Math.floor(this.placement.leadIn)));
  }

  private get capacity(): number {
    return this.history + this.size;
  }

  /** Appends `count` zeros (the lead-in), emitting full segments as they complete. */
  private skipZeros(count: number, out: Segment[] = []): Segment[] {
    let left = count;
    while (left > 0) {
      const take = Math.min(left, this.bufStart + this.capacity - this.end);
      for (let c = 0; c < this.channels; c++) this.buf[c].fill(0, this.end - this.bufStart, this.end - this.bufStart + take);
      this.end += take;
      left -= take;
      this.emitFull(out);
    }
    return out;
  }

  private emitFull(out: Segment[]): void {
    while (this.end >= this.next + this.size) {
      const o = this.next - this.bufStart;
      out.push({ start: this.next, data: this.buf.map((b) => b.slice(o, o + this.size)), from: 0, length: this.size });
      this.emitted++;
      this.advance();
    }
  }

  private advance(): void {
    this.next += this.stride;
    const drop = this.next - this.history - this.bufStart;
    if (drop <= 0) return;
    const keep = Math.max(0, this.end - this.bufStart - drop);
    for (let c = 0; c < this.channels; c++) {
      if (keep > 0) this.buf[c].copyWithin(0, drop, drop + keep);
      this.buf[c].fill(0, keep);
    }
    this.bufStart += drop;
  }

  /** Pushes a chunk; returns complete segments (copies). */
  push(chunk: Float32Array[]): Segment[] {
    const out: Segment[] = this.pending.splice(0);
    const n = chunk[0].length;
    this.total += n;
    let off = 0;
    while (off < n) {
      const take = Math.min(n - off, this.bufStart + this.capacity - this.end);
      const at = this.end - this.bufStart;
      for (let c = 0; c < this.channels; c++) this.buf[c].set(chunk[c].subarray(off, off + take), at);
      this.end += take;
      off += take;
      this.emitFull(out);
    }
    return out;
  }

  /** The N model-input samples from padded index `from` (zeros outside what is held). */
  private window(from: number): Float32Array[] {
    return this.buf.map((b) => {
      const d = new Float32Array(this.size);
      const lo = Math.max(from, this.bufStart);
      const hi = Math.min(from + this.size, this.end);
      if (hi > lo) d.set(b.subarray(lo - this.bufStart, hi - this.bufStart), lo - from);
      return d;
    });
  }

  /** After the input ended: the remaining segments, by the placement's tail rule. */
  flush(): Segment[] {
    const out: Segment[] = this.pending.splice(0);
    if (this.total === 0) return out;
    const p = this.placement;
    const N = this.size;
    const signalEnd = this.end; // leadIn + total
    if (p.tail === 'pad') {
      // a segment is needed while its start < the end and the previous one did not reach it
      while (this.next < signalEnd && !(this.emitted > 0 && this.next - this.stride + N >= signalEnd)) {
        out.push({ start: this.next, data: this.window(this.next), from: 0, length: N });
        this.emitted++;
        this.advance();
      }
      return out;
    }
    const padded = p.tail === 'cut' ? Math.max(signalEnd, p.paddedLength?.(this.total) ?? signalEnd) : signalEnd;
    while (this.next < padded) {
      const length = Math.min(N, padded - this.next);
      // "centre": fed the N samples centred on the kept part, keeps the middle
      const shift = p.tail === 'centre' ? Math.floor((N - length) / 2) : 0;
      out.push({ start: this.next, data: this.window(this.next - shift), from: shift, length });
      this.emitted++;
      this.advance();
    }
    return out;
  }
}

/** Overlap-adds separated segments (in order) and emits finished samples. */
export class OverlapAdd {
  private readonly acc: Float32Array[][]; // [stems][channels][size]
  private readonly wsum: Float32Array;
  private start = 0; // padded index of acc[..][..][0]
  readonly window: Float32Array;

  constructor(
    readonly stems: number,
    readonly channels: number,
    readonly size: number,
    readonly stride: number,
    overlapSamples: number,
    /** Weights of a whole segment, else the trapezoid crossfade. */
    window?: Float32Array,
  ) {
    this.window = window && window.length === size ? window : crossfadeWindow(size, overlapSamples);
    this.acc = Array.from({ length: stems }, () => Array.from({ length: channels }, () => new Float32Array(size)));
    this.wsum = new Float32Array(size);
  }

  /**
   * Adds the segment starting at `segStart` (must be the next one: start + k·stride): its outputs
   * [from, from + length) weighted by `weights` (default the whole window); returns the samples
   * that are now final ([stems][channels][frames]), at most `limit` samples from index 0 (the
   * padded signal's length, when known).
   */
  add(segStart: number, seg: Float32Array[][], limit = Infinity, from = 0, length = this.size, weights = this.window): Float32Array[][] {
    if (segStart !== this.start) throw new Error(`overlap-add out of order: ${segStart} vs ${this.start}`);
    const w = weights;
    const n = Math.min(length, this.size, w.length);
    for (let s = 0; s < this.stems; s++)
      for (let c = 0; c < this.channels; c++) {
        const a = this.acc[s][c];
        const x = seg[s][c];
        for (let i = 0; i < n; i++) a[i] += x[from + i] * w[i];
      }
    for (let i = 0; i < n; i++) this.wsum[i] += w[i];
    return this.emit(Math.min(this.stride, Math.max(0, limit - this.start)));
  }

  /** Emits everything still held (after the last segment), up to `limit` samples from index 0. */
  finish(limit: number): Float32Array[][] {
    return this.emit(Math.min(this.size, Math.max(0, limit - this.start)));
  }

  private emit(count: number): Float32Array[][] {
    const out: Float32Array[][] = [];
    const shift = Math.min(this.stride, this.size);
    for (let s = 0; s < this.stems; s++) {
      const chs: Float32Array[] = [];
      for (let c = 0; c < this.channels; c++) {
        const a = this.acc[s][c];
        const o = new Float32Array(count);
        for (let i = 0; i < count; i++) o[i] = this.wsum[i] > 0 ? a[i] / this.wsum[i] : 0;
        chs.push(o);
        a.copyWithin(0, shift);
        a.fill(0, this.size - shift);
      }
      out.push(chs);
    }
    this.wsum.copyWithin(0, shift);
    this.wsum.fill(0, this.size - shift);
    this.start += this.stride;
    return out;
  }
}

/**
 * Where one segment of a whole, known signal sits (padded coordinates, as Segment): its model input
 * is the N samples from `inputFrom` (zeros outside the signal), of which the outputs [from,
 * from + length) are kept, for samples [start, start + length).
 */
export interface SegmentSpec {
  start: number;
  inputFrom: number;
  from: number;
  length: number;
}

/**
 * The segments a Segmenter makes of a signal of `total` samples, without the samples: the same
 * starts, tails and kept parts in the same order (live.ts separates them in any order and reads
 * each one's input where it needs it). Pinned to the Segmenter by test/engine/live.test.ts.
 */
export function segmentPlan(placement: Placement, size: number, total: number): SegmentSpec[] {
  const p = placement;
  const N = size;
  const stride = p.stride;
  const out: SegmentSpec[] = [];
  const leadIn = Math.max(0, Math.floor(p.leadIn));
  const signalEnd = leadIn + total;
  let next = 0;
  // full segments (the Segmenter's emitFull), lead-in-only ones included
  while (signalEnd >= next + N && (total > 0 || next + N <= leadIn)) {
    out.push({ start: next, inputFrom: next, from: 0, length: N });
    next += stride;
  }
  if (total === 0) return out;
  if (p.tail === 'pad') {
    while (next < signalEnd && !(out.length > 0 && next - stride + N >= signalEnd)) {
      out.push({ start: next, inputFrom: next, from: 0, length: N });
      next += stride;
    }
    return out;
  }
  const padded = p.tail === 'cut' ? Math.max(signalEnd, p.paddedLength?.(total) ?? signalEnd) : signalEnd;
  while (next < padded) {
    const length = Math.min(N, padded - next);
    const shift = p.tail === 'centre' ? Math.floor((N - length) / 2) : 0;
    out.push({ start: next, inputFrom: next - shift, from: shift, length });
    next += stride;
  }
  return out;
}
