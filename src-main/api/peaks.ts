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

/**
 * Accumulates peaks from streamed planar chunks of one stem. Min/max are computed once at the
 * finest level; coarser levels (multiples of the finest) are derived from it.
 */
export class PeaksBuilder {
  private readonly base: number;
  private readonly mins: Float32Array;
  private readonly maxs: Float32Array;
  private pos = 0;
  constructor(
    readonly frames: number,
    readonly levels: readonly number[] = PEAKS_LEVELS,
  ) {
    this.base = Math.min(...levels);
    for (const l of levels) if (l % this.base !== 0) throw new Error('peak levels must be multiples of the finest level');
    const n = Math.ceil(frames / this.base);
    this.mins = new Float32Array(n).fill(Infinity);
    this.maxs = new Float32Array(n).fill(-Infinity);
  }
  /** planar [channels][n] */
  push(chunk: Float32Array[]): void {
    const n = Math.min(chunk[0]?.length ?? 0, this.frames - this.pos);
    const spp = this.base;
    for (const ch of chunk) {
      let i = 0;
      let pos = this.pos;
      while (i < n) {
        const idx = Math.floor(pos / spp);
        const end = Math.min(n, i + (spp - (pos % spp)));
        let lo = this.mins[idx];
        let hi = this.maxs[idx];
        for (; i < end; i++, pos++) {
          const x = ch[i];
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
        this.mins[idx] = lo;
        this.maxs[idx] = hi;
      }
    }
    this.pos += n;
  }
  levelData(): Int8Array[] {
    return this.levels.map((spp) => {
      const f = spp / this.base;
      const count = Math.ceil(this.frames / spp);
      const out = new Int8Array(count * 2);
      for (let k = 0; k < count; k++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let j = k * f, e = Math.min(this.mins.length, (k + 1) * f); j < e; j++) {
          if (this.mins[j] < lo) lo = this.mins[j];
          if (this.maxs[j] > hi) hi = this.maxs[j];
        }
        out[2 * k] = lo === Infinity ? 0 : q(lo);
        out[2 * k + 1] = hi === -Infinity ? 0 : q(hi);
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
