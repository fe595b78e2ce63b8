/**
 * A song while it separates (a job in live mode, contract.ts JobLive), as the mixer plays it:
 * - the mixture's files and each stem's finished regions are fetched by byte range (raw float32,
 *   interleaved) and written into whole-song AudioBuffers: one per stem (silent until its region
 *   is separated) and the fill (the mixture, silenced where the stems are separated);
 * - each lane's waveform shows its stem where it is separated and the mixture elsewhere, its peaks
 *   updated only where samples changed (the mixture itself is kept only in the fill's buffer).
 * Frames are at the job's sample rate (the player's context runs at 44.1 kHz, as the models).
 */
import type { JobLive, MediaRef, StemdeckApi } from '$api/contract.js';
import type { StemPeaks } from './peaks.js';

/** Frames [from, to) of a live file, deinterleaved ([channels][frames]). */
export async function fetchFrames(api: StemdeckApi, ref: MediaRef, channels: number, from: number, to: number): Promise<Float32Array[]> {
  const bytes = channels * 4;
  const res = await fetch(api.mediaUrl(ref), { headers: { range: `bytes=${from * bytes}-${to * bytes - 1}` } });
  if (!res.ok) throw new Error(`The separating song's audio could not be read (${res.status}).`);
  const buf = await res.arrayBuffer();
  const n = Math.min(to - from, Math.floor(buf.byteLength / bytes));
  const inter = new Float32Array(buf, 0, n * channels);
  const out = Array.from({ length: channels }, () => new Float32Array(n));
  for (let c = 0; c < channels; c++) {
    const o = out[c];
    for (let i = 0, j = c; i < n; i++, j += channels) o[i] = inter[j];
  }
  return out;
}

const SPPS = [256, 2048, 16384];

/** Peaks of one lane (peaks.ts layout), updated range by range. */
class LanePeaks {
  readonly levels: { spp: number; data: Int8Array }[];
  constructor(
    readonly sampleRate: number,
    readonly frames: number,
  ) {
    this.levels = SPPS.map((spp) => ({ spp, data: new Int8Array(2 * Math.ceil(frames / spp)) }));
  }

  /** Recomputes the peaks over frames [from, to) of `channels`, whose index 0 is frame `offset`. */
  update(channels: Float32Array[], from: number, to: number, offset = 0): void {
    const gain = 1;
    const base = this.levels[0];
    const b0 = Math.floor(from / base.spp);
    const b1 = Math.ceil(Math.min(this.frames, to) / base.spp);
    for (let i = b0; i < b1; i++) {
      let lo = 0;
      let hi = 0;
      const end = Math.min(this.frames, (i + 1) * base.spp, offset + (channels[0]?.length ?? 0));
      for (const ch of channels)
        for (let j = Math.max(i * base.spp, offset); j < end; j++) {
          const v = ch[j - offset];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      base.data[2 * i] = Math.max(-127, Math.round(lo * gain * 127));
      base.data[2 * i + 1] = Math.min(127, Math.round(hi * gain * 127));
    }
    for (const level of this.levels.slice(1)) {
      const k = level.spp / base.spp;
      for (let i = Math.floor(b0 / k); i < Math.ceil(b1 / k); i++) {
        let lo = 0;
        let hi = 0;
        for (let j = i * k; j < Math.min(base.data.length / 2, (i + 1) * k); j++) {
          lo = Math.min(lo, base.data[2 * j]);
          hi = Math.max(hi, base.data[2 * j + 1]);
        }
        level.data[2 * i] = lo;
        level.data[2 * i + 1] = hi;
      }
    }
  }

  /** A new StemPeaks object over the same arrays (the waveform redraws on a new object). */
  snapshot(): StemPeaks {
    return { sampleRate: this.sampleRate, frames: this.frames, levels: this.levels.map((l) => ({ ...l })) };
  }
}

/** Separated regions as the renderer holds them (sorted, disjoint [from, to) frames). */
export function missingParts(have: [number, number][], want: [number, number]): [number, number][] {
  const out: [number, number][] = [];
  let at = want[0];
  for (const [a, b] of have) {
    if (b <= at) continue;
    if (a >= want[1]) break;
    if (a > at) out.push([at, Math.min(a, want[1])]);
    at = Math.max(at, b);
    if (at >= want[1]) break;
  }
  if (at < want[1]) out.push([at, want[1]]);
  return out;
}

/** Adds [a, b) to sorted, disjoint ranges. */
export function addRange(list: [number, number][], a: number, b: number): [number, number][] {
  const out: [number, number][] = [];
  let x = a;
  let y = b;
  for (const [p, q] of list) {
    if (q < x || p > y) out.push([p, q]);
    else {
      x = Math.min(x, p);
      y = Math.max(y, q);
    }
  }
  out.push([x, y]);
  return out.sort((m, n) => m[0] - n[0]);
}

/**
 * The audio of a separating song: whole-song buffers for the stems and the fill, the mixture and
 * the separated regions loaded so far, and the lanes' display peaks.
 */
export class LiveAudio {
  readonly stems: AudioBuffer[];
  readonly fill: AudioBuffer;
  /** The mixture's frames loaded (a prefix). */
  mixtureLoaded = 0;
  /** Regions whose stems are in the buffers. */
  separated: [number, number][] = [];
  private readonly peaks: LanePeaks[];

  constructor(
    ctx: BaseAudioContext,
    readonly live: JobLive,
    readonly frames: number,
  ) {
    const { channels, sampleRate } = live;
    this.stems = live.stems.map(() => ctx.createBuffer(channels, frames, sampleRate));
    this.fill = ctx.createBuffer(channels, frames, sampleRate);
    this.peaks = live.stems.map(() => new LanePeaks(sampleRate, frames));
  }

  /** Writes mixture frames from `from` (a prefix grows): heard in the fill, shown in the lanes not separated there. */
  addMixture(from: number, planes: Float32Array[]): void {
    const n = Math.min(planes[0]?.length ?? 0, this.frames - from);
    if (n <= 0) return;
    // the fill plays the mixture only where no stem is separated; the lanes show it there
    for (const [a, b] of missingParts(this.separated, [from, from + n])) {
      const part = planes.map((p) => p.subarray(a - from, b - from) as Float32Array<ArrayBuffer>);
      part.forEach((p, c) => this.fill.copyToChannel(p, c, a));
      this.peaks.forEach((pk) => pk.update(part, a, b, a));
    }
    this.mixtureLoaded = Math.max(this.mixtureLoaded, from + n);
  }

  /** Writes the stems' samples of a separated region: heard in the lanes, the fill silent there. */
  addRegion(from: number, stems: Float32Array[][]): void {
    const n = Math.min(stems[0]?.[0]?.length ?? 0, this.frames - from);
    if (n <= 0) return;
    stems.forEach((planes, s) => {
      planes.forEach((p, c) => this.stems[s].copyToChannel(p.subarray(0, n) as Float32Array<ArrayBuffer>, c, from));
      this.peaks[s].update(planes, from, from + n, from);
    });
    const silence = new Float32Array(n);
    for (let c = 0; c < this.fill.numberOfChannels; c++) this.fill.copyToChannel(silence, c, from);
    this.separated = addRange(this.separated, from, from + n);
  }

  /** The lanes' display peaks (new objects). */
  lanePeaks(): StemPeaks[] {
    return this.peaks.map((p) => p.snapshot());
  }
}
