/**
 * Live separation: the separation stream (stream.ts) of a whole, decoded signal, with the
 * segments separated in an order that follows a listener's playhead (live-order.ts) instead of
 * from the start, and the finished regions reported as they are done — for playing a song while
 * it separates. The result is the sequential stream's, bit for bit:
 * - the segments are the Segmenter's (segmentPlan), each fed the same samples (normalised the same
 *   way) and run alone, as the app's jobs run them (batch 1);
 * - overlap-add: each output frame's weighted contributions and weights are summed in float32 in
 *   segment order, as OverlapAdd sums them. A frame is finalised only when every segment covering
 *   it is done, so out-of-order segments cannot change the order of the sums: a segment's outputs
 *   are kept until the frames it covers are final;
 * - then as the stream: normalisation undone, the stage's residual from its input, a cascade's next
 *   stage input = this stage's input − its kept stems, and the cascade's residual at the end.
 * A cascade's stage k+1 segment runs once stage k is final over its input window; the order picks
 * the last stage's segments and separates what they need first.
 *
 * Storage: the mixture, every stage input after the first, and the job's stems are FrameStores
 * (random access; in memory for tests, files for the app — live-files.ts). Memory beyond them: the
 * outputs of done segments whose frames are not all final (a few per run of finished segments).
 *
 * Shapes: Planar = [channels][frames] float32 at the model's rate; frames are signal frames (no
 * lead-in) unless named "padded".
 */
import { StemdeckError } from './errors.js';
import type { ModelAdapter, Planar } from './adapters/types.js';
import { evenPlacement, segmentPlan, type Placement, type SegmentSpec } from './segments.js';
import { checkAbort, fillResidual, subtract } from './stream.js';
import { liveOrder, RegionSet, type FrameRange } from './live-order.js';
import { countNonFinite } from './screen.js';

/** Random-access planar frames of one signal ([channels][frames]). */
export interface FrameStore {
  /** Frames [from, to) (within what was written). */
  read(from: number, to: number): Promise<Planar>;
  write(from: number, planes: Planar): Promise<void>;
}

/** A FrameStore in memory (tests; short signals). */
export class MemoryFrameStore implements FrameStore {
  readonly planes: Planar;
  constructor(channels: number, frames: number, init?: Planar) {
    this.planes = init ?? Array.from({ length: channels }, () => new Float32Array(frames));
  }
  async read(from: number, to: number): Promise<Planar> {
    return this.planes.map((p) => p.slice(from, to));
  }
  async write(from: number, planes: Planar): Promise<void> {
    planes.forEach((p, c) => this.planes[c].set(p, from));
  }
}

export interface LiveStageOptions {
  adapter: ModelAdapter;
  /** Segment overlap 0..0.9, handed to the adapter's placement. */
  overlap: number;
  /** The mixture's mean/std when the stage normalises (stream.ts StreamOptions.normalize). */
  normalize?: { mean: number; std: number };
  need?: readonly boolean[];
  /** The stage's residual stem (its adapter's index), derived from its input; −1 none. */
  residualIdx?: number;
  /** The adapter's stems the job keeps from this stage, in order (a single model: all). */
  keep: readonly number[];
}

export interface LiveTask {
  stage: number;
  segment: number;
  /** Signal frames the segment's kept outputs cover. */
  from: number;
  to: number;
}

export interface LiveOptions {
  channels: number;
  /** Frames of the signal (the whole decoded mixture). */
  frames: number;
  sampleRate: number;
  /** One stage for a single model; a cascade's stages in order. */
  stages: LiveStageOptions[];
  mixture: FrameStore;
  /** The job's stems: the kept stems of every stage, in stage order. */
  outputs: FrameStore[];
  /** The job stem derived at the end as mixture − Σ the others (a cascade's residual), −1 none. */
  residual?: number;
  /** Where stage k ≥ 1 keeps its input (the mixture minus the stems kept before it); default memory. */
  stageInput?(stage: number): FrameStore;
  /** Segments in separation at once (default 2), so pre/post-processing overlaps inference. */
  depth?: number;
  signal?: AbortSignal;
  /** A first guess of the seconds between finished segments (later: measured). Default: real time. */
  secondsPerSegment?: number;
  /** Called after each newly finished region with all finished regions (signal frames, sorted). */
  onRegions?(regions: readonly FrameRange[]): void;
  /** Called when a segment is started (the engine's next segment). */
  onTask?(task: LiveTask): void;
}

/** Extra playback the lookahead allows for (the estimate of a segment's time is a mean). */
const LOOKAHEAD_MARGIN = 1.25;

interface Piece {
  /** Padded frames [a, b), all covered by segments k0..k1. */
  a: number;
  b: number;
  k0: number;
  k1: number;
  final: boolean;
}

class LiveStage {
  readonly specs: SegmentSpec[];
  readonly placement: Placement;
  readonly N: number;
  readonly leadIn: number;
  readonly state: Uint8Array; // 0 waiting, 1 running, 2 done
  readonly outputs = new Map<number, Planar[]>();
  readonly pieces: Piece[] = [];
  /** Piece indices [p0, p1] each segment covers. */
  readonly piecesOf: [number, number][];
  /** Signal frames each segment's kept outputs cover. */
  readonly ranges: FrameRange[];
  readonly final = new RegionSet();
  private readonly windows = new Map<number, Float32Array>();
  readonly norm: { mean: number; std: number } | null;

  constructor(
    readonly o: LiveStageOptions,
    readonly total: number,
  ) {
    const adapter = o.adapter;
    this.N = adapter.segmentSamples;
    this.placement = adapter.placement?.(o.overlap) ?? evenPlacement(this.N, o.overlap);
    this.leadIn = Math.max(0, Math.floor(this.placement.leadIn));
    this.specs = segmentPlan(this.placement, this.N, total);
    this.state = new Uint8Array(this.specs.length);
    this.norm = o.normalize ? { mean: o.normalize.mean, std: o.normalize.std < 1e-8 ? 1 : o.normalize.std } : null;
    const L = this.leadIn;
    this.ranges = this.specs.map((s) => ({ from: Math.max(0, s.start - L), to: Math.max(0, Math.min(total, s.start + this.kept(s) - L)) }));
    // pieces of the signal (padded [L, L + total)) between segment boundaries
    const cuts = new Set<number>([L, L + total]);
    for (const s of this.specs)
      for (const x of [s.start, s.start + this.kept(s)]) if (x > L && x < L + total) cuts.add(x);
    const bounds = [...cuts].sort((x, y) => x - y);
    let k0 = 0;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [a, b] = [bounds[i], bounds[i + 1]];
      while (k0 < this.specs.length && this.specs[k0].start + this.kept(this.specs[k0]) <= a) k0++;
      let k1 = k0 - 1;
      while (k1 + 1 < this.specs.length && this.specs[k1 + 1].start <= a) k1++;
      this.pieces.push({ a, b, k0, k1, final: false });
    }
    this.piecesOf = this.specs.map((_, k) => {
      let p0 = this.pieces.findIndex((p) => p.k0 <= k && k <= p.k1);
      if (p0 < 0) p0 = this.pieces.length;
      let p1 = p0 - 1;
      while (p1 + 1 < this.pieces.length && this.pieces[p1 + 1].k0 <= k && k <= this.pieces[p1 + 1].k1) p1++;
      return [p0, p1];
    });
  }

  /** Outputs a segment adds to (OverlapAdd.add: min(length, N, window)). */
  kept(s: SegmentSpec): number {
    return Math.min(s.length, this.N, this.weights(s.length).length);
  }

  weights(length: number): Float32Array {
    let w = this.windows.get(length);
    if (!w) {
      w = this.placement.window(length);
      this.windows.set(length, w);
    }
    return w;
  }

  /** Signal frames of segment k's model input (clipped to the signal). */
  inputWindow(k: number): FrameRange {
    const s = this.specs[k];
    const from = s.inputFrom - this.leadIn;
    return { from: Math.max(0, from), to: Math.max(0, Math.min(this.total, from + this.N)) };
  }
}

/**
 * A live separation of one signal. `setPlayhead` may be called any time (the order follows it);
 * `run()` separates every segment and resolves when the outputs hold the whole result.
 */
export class LiveSeparation {
  private readonly stages: LiveStage[];
  private readonly inputs: FrameStore[];
  private readonly C: number;
  private readonly total: number;
  private readonly residual: number;
  /** Offset of each stage's kept stems among the job's stems. */
  private readonly keptAt: number[];
  private playhead = { frame: 0, playing: false, at: performance.now() };
  private secondsPerSegment: number;
  private lastDone: number | null = null;
  private running = 0;
  private finalising: Promise<void> = Promise.resolve();
  /** The job's finished regions (every stage final there, outputs written). */
  readonly regions = new RegionSet();

  constructor(private readonly o: LiveOptions) {
    if (o.stages.length === 0) throw new StemdeckError('internal', 'a live separation needs a stage');
    this.C = o.channels;
    this.total = o.frames;
    this.stages = o.stages.map((s) => new LiveStage(s, o.frames));
    this.inputs = o.stages.map((_, k) => (k === 0 ? o.mixture : (o.stageInput?.(k) ?? new MemoryFrameStore(o.channels, o.frames))));
    this.residual = o.residual ?? -1;
    let at = 0;
    this.keptAt = o.stages.map((s) => {
      const here = at;
      at += s.keep.length;
      return here;
    });
    if (at !== o.outputs.length) throw new StemdeckError('internal', `live separation: ${o.outputs.length} outputs for ${at} kept stems`);
    this.secondsPerSegment = o.secondsPerSegment ?? this.stages[this.stages.length - 1].placement.stride / o.sampleRate;
  }

  /** The listener's position (signal frames) and whether it is moving at real time. */
  setPlayhead(frame: number, playing: boolean): void {
    this.playhead = { frame: Math.max(0, Math.min(this.total, Math.round(frame))), playing, at: performance.now() };
  }

  /** Frames separated (finished regions) so far. */
  get separatedFrames(): number {
    return this.regions.frames;
  }

  private playheadNow(): number {
    const p = this.playhead;
    const moved = p.playing ? ((performance.now() - p.at) / 1000) * this.o.sampleRate : 0;
    return Math.min(this.total, p.frame + moved);
  }

  /** The next segment to start (a stage's, the last stage's order decides), or null when none can start now. */
  nextTask(): { stage: number; segment: number } | null {
    const last = this.stages.length - 1;
    const st = this.stages[last];
    const p = this.playheadNow();
    const lookahead = this.playhead.playing ? (this.running + this.stages.length) * this.secondsPerSegment * this.o.sampleRate * LOOKAHEAD_MARGIN : 0;
    for (const k of liveOrder(st.ranges, (i) => st.state[i] !== 0, p, lookahead)) {
      const t = this.runnable(last, k);
      if (t) return t;
    }
    return null;
  }

  /** Segment k of `stage` if it can start, else the first of what it waits for that can. */
  private runnable(stage: number, k: number): { stage: number; segment: number } | null {
    const st = this.stages[stage];
    if (st.state[k] !== 0) return null;
    if (stage === 0) return { stage, segment: k };
    const w = st.inputWindow(k);
    const before = this.stages[stage - 1];
    if (before.final.covers(w.from, w.to)) return { stage, segment: k };
    for (let d = 0; d < before.ranges.length; d++) {
      const r = before.ranges[d];
      if (r.to <= w.from || r.from >= w.to) continue;
      const t = this.runnable(stage - 1, d);
      if (t) return t;
    }
    return null;
  }

  async run(): Promise<void> {
    const depth = Math.max(1, Math.floor(this.o.depth ?? 2));
    const inflight = new Set<Promise<void>>();
    try {
      for (;;) {
        checkAbort(this.o.signal);
        while (inflight.size < depth) {
          const t = this.nextTask();
          if (!t) break;
          const p: Promise<void> = this.runTask(t.stage, t.segment).finally(() => inflight.delete(p));
          inflight.add(p);
        }
        if (inflight.size === 0) break;
        await Promise.race(inflight);
      }
      await this.finalising;
      checkAbort(this.o.signal);
      if (!this.regions.covers(0, this.total))
        throw new StemdeckError('internal', `Live separation stopped with ${this.regions.frames} of ${this.total} frames separated.`);
    } finally {
      // an early stop: let the runs in flight finish before their buffers are dropped
      await Promise.allSettled([...inflight]);
    }
  }

  private async runTask(stage: number, k: number): Promise<void> {
    const st = this.stages[stage];
    st.state[k] = 1;
    this.running++;
    const r = st.ranges[k];
    this.o.onTask?.({ stage, segment: k, from: r.from, to: r.to });
    try {
      const data = await this.segmentInput(stage, k);
      const results = await st.o.adapter.process([data], st.o.need ?? st.o.adapter.stems.map(() => true));
      st.outputs.set(k, results[0]);
      st.state[k] = 2;
    } finally {
      this.running--;
    }
    const now = performance.now();
    // seconds between finished segments, smoothed: the lookahead's estimate of the next one's
    if (this.lastDone !== null) this.secondsPerSegment = 0.7 * this.secondsPerSegment + 0.3 * ((now - this.lastDone) / 1000);
    this.lastDone = now;
    const step = this.finalising.then(() => this.finaliseAround(stage, k));
    this.finalising = step.catch(() => undefined);
    await step;
  }

  /** Segment k's model input: the N samples from its inputFrom, zeros outside the signal, normalised as the stream does. */
  private async segmentInput(stage: number, k: number): Promise<Planar> {
    const st = this.stages[stage];
    const spec = st.specs[k];
    const w = st.inputWindow(k);
    const at = w.from - (spec.inputFrom - st.leadIn); // offset of w.from in the segment
    const src = w.to > w.from ? await this.inputs[stage].read(w.from, w.to) : [];
    return Array.from({ length: this.C }, (_, c) => {
      const d = new Float32Array(st.N);
      const x = src[c];
      if (x) {
        if (st.norm) {
          const { mean, std } = st.norm;
          for (let i = 0; i < x.length; i++) d[at + i] = (x[i] - mean) / std;
        } else d.set(x, at);
      }
      return d;
    });
  }

  /** Finalises every piece segment k covers whose segments are all done. */
  private async finaliseAround(stage: number, k: number): Promise<void> {
    const st = this.stages[stage];
    const [p0, p1] = st.piecesOf[k];
    for (let p = p0; p <= p1; p++) {
      const piece = st.pieces[p];
      if (piece.final) continue;
      let ready = true;
      for (let j = piece.k0; j <= piece.k1 && ready; j++) ready = st.state[j] === 2;
      if (ready) await this.finalisePiece(stage, piece);
    }
    // outputs no piece needs any more
    for (const j of [...st.outputs.keys()]) {
      const [q0, q1] = st.piecesOf[j];
      let all = true;
      for (let q = q0; q <= q1 && all; q++) all = st.pieces[q].final;
      if (all) st.outputs.delete(j);
    }
  }

  private async finalisePiece(stage: number, piece: Piece): Promise<void> {
    const st = this.stages[stage];
    const S = st.o.adapter.stems.length;
    const C = this.C;
    const n = piece.b - piece.a;
    const from = piece.a - st.leadIn;
    // overlap-add in segment order, float32 sums (OverlapAdd.add / emit)
    const stems: Planar[] = Array.from({ length: S }, () => Array.from({ length: C }, () => new Float32Array(n)));
    const acc = new Float32Array(n);
    const wsum = new Float32Array(n);
    for (let s = 0; s < S; s++)
      for (let c = 0; c < C; c++) {
        acc.fill(0);
        wsum.fill(0);
        for (let k = piece.k0; k <= piece.k1; k++) {
          const spec = st.specs[k];
          const w = st.weights(spec.length);
          const x = st.outputs.get(k)![s][c];
          const off = piece.a - spec.start;
          for (let i = 0; i < n; i++) {
            acc[i] += x[spec.from + off + i] * w[off + i];
            wsum[i] += w[off + i];
          }
        }
        const o = stems[s][c];
        for (let i = 0; i < n; i++) o[i] = wsum[i] > 0 ? acc[i] / wsum[i] : 0;
      }
    if (st.norm) {
      const { mean, std } = st.norm;
      for (const chs of stems) for (const ch of chs) for (let i = 0; i < n; i++) ch[i] = ch[i] * std + mean;
    }
    const R = st.o.residualIdx ?? -1;
    const last = stage === this.stages.length - 1;
    const input = R >= 0 || !last ? await this.inputs[stage].read(from, from + n) : null;
    if (input && R >= 0) fillResidual(stems, input, R);
    const kept = st.o.keep.map((i) => stems[i]);
    if (!last) {
      // the next stage's input (cascadeStream: subtract(chunk.input, kept)), and the kept stems
      await this.inputs[stage + 1].write(from, subtract(input!, kept));
      await Promise.all(kept.map((p, i) => this.o.outputs[this.keptAt[stage] + i].write(from, p)));
    } else {
      const all: Planar[] = [];
      for (let j = 0; j < stage; j++)
        for (let i = 0; i < this.stages[j].o.keep.length; i++) all.push(await this.o.outputs[this.keptAt[j] + i].read(from, from + n));
      all.push(...kept);
      const R2 = this.residual;
      if (R2 >= 0) all[R2] = subtract(await this.o.mixture.read(from, from + n), all.filter((_, i) => i !== R2));
      // the input is finite (decode.ts), so a NaN or infinity here is the model's: never write it
      if (countNonFinite(all) > 0)
        throw new StemdeckError('model-contract', 'The model produced samples that are not numbers (NaN or infinity), so its stems would be wrong; nothing was written. Try another model, and tell the model\'s author.');
      await Promise.all(all.map((p, i) => (i >= this.keptAt[stage] || i === R2 ? this.o.outputs[i].write(from, p) : undefined)));
    }
    piece.final = true;
    st.final.add(from, from + n);
    if (last) {
      this.regions.add(from, from + n);
      this.o.onRegions?.(this.regions.ranges);
    }
  }
}
