/**
 * peaks.bin: precomputed waveform peaks of a song's stems at a few zoom levels.
 * Layout (little-endian): 'SDPK', u32 version=1, u32 stemCount, u32 levelCount, u32 sampleRate,
 * u32 frames, u32 samplesPerPeak[levelCount], then per stem (song.stems order), per level:
 * ceil(frames / spp) pairs of int8 (min, max) over all channels, scaled by 127.
 * Pure code (no Node/DOM): used by the library (writer) and the renderer (parser).
 */
export interface PeaksLevel {
  samplesPerPeak: number;
  /** Interleaved min,max per peak, −127…127 (divide by 127 for −1…1). */
  data: Int8Array;
}
export interface Peaks {
  sampleRate: number;
  frames: number;
  /** [stem][level] */
  stems: PeaksLevel[][];
}

export const PEAKS_LEVELS = [256, 1024, 4096] as const;

export function parsePeaks(buf: ArrayBuffer): Peaks {
  const v = new DataView(buf);
  const magic = String.fromCharCode(v.getUint8(0), v.getUint8(1), v.getUint8(2), v.getUint8(3));
  if (magic !== 'SDPK' || v.getUint32(4, true) !== 1) throw new Error('not a Stemdeck peaks file');
  const stemCount = v.getUint32(8, true);
  const levelCount = v.getUint32(12, true);
  const sampleRate = v.getUint32(16, true);
  const frames = v.getUint32(20, true);
  const spps: number[] = [];
  let off = 24;
  for (let i = 0; i < levelCount; i++, off += 4) spps.push(v.getUint32(off, true));
  const stems: PeaksLevel[][] = [];
  for (let s = 0; s < stemCount; s++) {
    const levels: PeaksLevel[] = [];
    for (const spp of spps) {
      const n = Math.ceil(frames / spp) * 2;
      levels.push({ samplesPerPeak: spp, data: new Int8Array(buf.slice(off, off + n)) });
      off += n;
    }
    stems.push(levels);
  }
  return { sampleRate, frames, stems };
}

/** Accumulates peaks from streamed planar chunks of one stem. */
export class PeaksBuilder {
  private readonly mins: Int8Array[];
  private readonly maxs: Int8Array[];
  private readonly curMin: number[];
  private readonly curMax: number[];
  private pos = 0;
  constructor(
    readonly frames: number,
    readonly levels: readonly number[] = PEAKS_LEVELS,
  ) {
    this.mins = levels.map((spp) => new Int8Array(Math.ceil(frames / spp)));
    this.maxs = levels.map((spp) => new Int8Array(Math.ceil(frames / spp)));
    this.curMin = levels.map(() => 0);
    this.curMax = levels.map(() => 0);
  }
  /** planar [channels][n] */
  push(chunk: Float32Array[]): void {
    const n = chunk[0]?.length ?? 0;
    for (let i = 0; i < n && this.pos < this.frames; i++, this.pos++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const ch of chunk) {
        const x = ch[i];
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      for (let l = 0; l < this.levels.length; l++) {
        const spp = this.levels[l];
        const idx = Math.floor(this.pos / spp);
        if (this.pos % spp === 0) {
          this.curMin[l] = lo;
          this.curMax[l] = hi;
        } else {
          if (lo < this.curMin[l]) this.curMin[l] = lo;
          if (hi > this.curMax[l]) this.curMax[l] = hi;
        }
        this.mins[l][idx] = q(this.curMin[l]);
        this.maxs[l][idx] = q(this.curMax[l]);
      }
    }
  }
  levelData(): Int8Array[] {
    return this.levels.map((_, l) => {
      const out = new Int8Array(this.mins[l].length * 2);
      for (let i = 0; i < this.mins[l].length; i++) {
        out[2 * i] = this.mins[l][i];
        out[2 * i + 1] = this.maxs[l][i];
      }
      return out;
    });
  }
}

function q(x: number): number {
  return Math.max(-127, Math.min(127, Math.round(x * 127)));
}

export function encodePeaks(sampleRate: number, frames: number, levels: readonly number[], stems: Int8Array[][]): Uint8Array {
  const header = 24 + 4 * levels.length;
  const body = stems.reduce((n, ls) => n + ls.reduce((m, d) => m + d.length, 0), 0);
  const out = new Uint8Array(header + body);
  const v = new DataView(out.buffer);
  out.set([0x53, 0x44, 0x50, 0x4b], 0);
  v.setUint32(4, 1, true);
  v.setUint32(8, stems.length, true);
  v.setUint32(12, levels.length, true);
  v.setUint32(16, sampleRate, true);
  v.setUint32(20, frames, true);
  levels.forEach((spp, i) => v.setUint32(24 + 4 * i, spp, true));
  let off = header;
  for (const ls of stems)
    for (const d of ls) {
      out.set(new Uint8Array(d.buffer, d.byteOffset, d.length), off);
      off += d.length;
    }
  return out;
}
