/**
 * Fixed-length segmentation with overlap and crossfade, streaming in both directions.
 *
 * Segment k covers samples [k·stride, k·stride + N) of the mixture (zero-padded past the end),
 * stride = N − round(N·overlap). Each separated segment is weighted by a trapezoid window
 * (linear ramps over the overlap, strictly positive everywhere) and overlap-added; the sum is
 * divided by the summed window, so an identity model gives back the input exactly, also at the
 * file's start and end. Memory: one segment of input per queued segment and one segment of
 * output accumulator per stem, whatever the file length.
 *
 * Shapes: planar Float32Array[] = [channels][frames]; stems output = [stems][channels][frames].
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

/** Cuts a stream of planar chunks into overlapping segments of N samples. */
export class Segmenter {
  private buf: Float32Array[];
  private filled = 0; // valid samples in buf, from its start = current segment start
  private consumed = 0; // absolute index of buf[0]
  total = 0; // samples received so far

  constructor(
    readonly channels: number,
    readonly size: number,
    readonly stride: number,
  ) {
    this.buf = Array.from({ length: channels }, () => new Float32Array(size));
  }

  /** Pushes a chunk; returns complete segments (copies) with their start offsets. */
  push(chunk: Float32Array[]): { start: number; data: Float32Array[] }[] {
    const out: { start: number; data: Float32Array[] }[] = [];
    const n = chunk[0].length;
    this.total += n;
    let off = 0;
    while (off < n) {
      const take = Math.min(n - off, this.size - this.filled);
      for (let c = 0; c < this.channels; c++) this.buf[c].set(chunk[c].subarray(off, off + take), this.filled);
      this.filled += take;
      off += take;
      if (this.filled === this.size) {
        out.push({ start: this.consumed, data: this.buf.map((b) => b.slice()) });
        this.advance();
      }
    }
    return out;
  }

  private advance(): void {
    for (let c = 0; c < this.channels; c++) this.buf[c].copyWithin(0, this.stride, this.size);
    this.filled -= this.stride;
    this.consumed += this.stride;
  }

  /**
   * After the input ended: the remaining segments (zero-padded). A segment is needed while its
   * start < total and the previous segment did not already reach the end.
   */
  flush(): { start: number; data: Float32Array[] }[] {
    const out: { start: number; data: Float32Array[] }[] = [];
    // the last full segment emitted ended at consumed - stride + size; if that ≥ total we are done
    const lastEnd = this.consumed === 0 ? 0 : this.consumed - this.stride + this.size;
    if (this.total === 0) return out;
    if (this.consumed > 0 && lastEnd >= this.total) return out;
    while (this.consumed < this.total) {
      const data = this.buf.map((b) => {
        const d = new Float32Array(this.size);
        d.set(b.subarray(0, Math.max(0, this.filled)));
        return d;
      });
      out.push({ start: this.consumed, data });
      if (this.consumed + this.size >= this.total) break;
      this.advance();
    }
    return out;
  }
}

/** Overlap-adds separated segments (in order) and emits finished samples. */
export class OverlapAdd {
  private readonly acc: Float32Array[][]; // [stems][channels][size]
  private readonly wsum: Float32Array;
  private start = 0; // absolute index of acc[..][..][0]
  readonly window: Float32Array;

  constructor(
    readonly stems: number,
    readonly channels: number,
    readonly size: number,
    readonly stride: number,
    overlapSamples: number,
    /** Custom weights (an adapter's `window`), else the trapezoid crossfade. */
    window?: Float32Array,
  ) {
    this.window = window && window.length === size ? window : crossfadeWindow(size, overlapSamples);
    this.acc = Array.from({ length: stems }, () => Array.from({ length: channels }, () => new Float32Array(size)));
    this.wsum = new Float32Array(size);
  }

  /**
   * Adds the segment starting at `segStart` (must be the next one: start + k·stride);
   * returns the samples that are now final ([stems][channels][frames]), at most `limit` total
   * samples from the file start (the file length, when known).
   */
  add(segStart: number, seg: Float32Array[][], limit = Infinity): Float32Array[][] {
    if (segStart !== this.start) throw new Error(`overlap-add out of order: ${segStart} vs ${this.start}`);
    const w = this.window;
    const n = this.size;
    for (let s = 0; s < this.stems; s++)
      for (let c = 0; c < this.channels; c++) {
        const a = this.acc[s][c];
        const x = seg[s][c];
        for (let i = 0; i < n; i++) a[i] += x[i] * w[i];
      }
    for (let i = 0; i < n; i++) this.wsum[i] += w[i];
    return this.emit(Math.min(this.stride, Math.max(0, limit - this.start)));
  }

  /** Emits everything still held (after the last segment), up to `limit` samples from the file start. */
  finish(limit: number): Float32Array[][] {
    return this.emit(Math.min(this.size, Math.max(0, limit - this.start)));
  }

  private emit(count: number): Float32Array[][] {
    const out: Float32Array[][] = [];
    for (let s = 0; s < this.stems; s++) {
      const chs: Float32Array[] = [];
      for (let c = 0; c < this.channels; c++) {
        const a = this.acc[s][c];
        const o = new Float32Array(count);
        for (let i = 0; i < count; i++) o[i] = this.wsum[i] > 0 ? a[i] / this.wsum[i] : 0;
        chs.push(o);
        a.copyWithin(0, this.stride);
        a.fill(0, this.size - this.stride);
      }
      out.push(chs);
    }
    this.wsum.copyWithin(0, this.stride);
    this.wsum.fill(0, this.size - this.stride);
    this.start += this.stride;
    return out;
  }
}
