/**
 * The bookkeeping of a live separation (live.ts), pure: which segment to separate next for a
 * listener at the playhead, and the finished regions of a signal.
 *
 * Order (`liveOrder`): the segments that are not started yet, best first.
 * - Paused at frame p: the segments that reach p or later, in signal order (the one under the
 *   playhead first), then the ones behind it ("fills the rest").
 * - Playing: a segment started now is done in about `lookahead` frames of playback. A segment
 *   whose new region would start before p + lookahead would be reached by the playhead before it
 *   is done (the listener hears the mixture there anyway), so the work goes to the first segment
 *   whose region starts at or after p + lookahead, and on from there in signal order; the skipped
 *   ones come next, then the ones behind the playhead. With a model faster than real time this
 *   keeps the separated audio ahead of the playhead once the playhead has reached it: each
 *   segment adds `stride` frames of separated audio in less than `stride` frames of playback
 *   (test/engine/live-order.test.ts simulates it at 1.3× real time).
 * A segment's "new region" starts where the segment before it ends when that one is not started
 * (frames two segments share are final only when both are done), else where it starts.
 *
 * Frames are signal frames (the lead-in removed): a segment's range is the frames its kept
 * outputs contribute to.
 */

export interface FrameRange {
  /** First frame. */
  from: number;
  /** Frame after the last. */
  to: number;
}

/** Segments not started yet (`started(k)` false), in the order to separate them (see the file comment). */
export function liveOrder(ranges: readonly FrameRange[], started: (k: number) => boolean, playhead: number, lookahead: number): number[] {
  const ahead: number[] = [];
  const skipped: number[] = [];
  const behind: number[] = [];
  for (let k = 0; k < ranges.length; k++) {
    if (started(k)) continue;
    const r = ranges[k];
    if (r.to <= playhead) {
      behind.push(k);
      continue;
    }
    if (lookahead > 0) {
      const regionStart = k === 0 || started(k - 1) ? r.from : Math.max(r.from, ranges[k - 1].to);
      if (regionStart < playhead + lookahead) {
        skipped.push(k);
        continue;
      }
    }
    ahead.push(k);
  }
  return [...ahead, ...skipped, ...behind];
}

/** Disjoint, sorted frame ranges; adding merges touching ones. */
export class RegionSet {
  private list: FrameRange[] = [];

  get ranges(): readonly FrameRange[] {
    return this.list;
  }

  /** Frames held in all. */
  get frames(): number {
    return this.list.reduce((n, r) => n + r.to - r.from, 0);
  }

  add(from: number, to: number): void {
    if (to <= from) return;
    const out: FrameRange[] = [];
    let a = from;
    let b = to;
    for (const r of this.list) {
      if (r.to < a || r.from > b) out.push(r);
      else {
        a = Math.min(a, r.from);
        b = Math.max(b, r.to);
      }
    }
    out.push({ from: a, to: b });
    out.sort((x, y) => x.from - y.from);
    this.list = out;
  }

  /** Whether every frame of [from, to) is held (an empty range is). */
  covers(from: number, to: number): boolean {
    if (to <= from) return true;
    return this.list.some((r) => r.from <= from && r.to >= to);
  }

  /** Whether frame `t` is held. */
  has(t: number): boolean {
    return this.list.some((r) => r.from <= t && t < r.to);
  }
}
