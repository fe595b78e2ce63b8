/**
 * Minimal streaming WAV reader/writer for the app's own files (stems written by the engine,
 * exports, drag-out files). Audio is planar `Float32Array[]` = [channels][frames].
 * Reads PCM 16/24/32-bit int and 32-bit float (plain and WAVE_FORMAT_EXTENSIBLE), RIFF and RF64.
 */
import fs from 'node:fs/promises';
import { StemdeckError } from '../errors.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  float: boolean;
  dataOffset: number;
  frames: number;
}

export async function readWavInfo(file: string): Promise<WavInfo> {
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    if (head.toString('ascii', 0, 4) !== 'RIFF' && head.toString('ascii', 0, 4) !== 'RF64') throw bad(file);
    if (head.toString('ascii', 8, 12) !== 'WAVE') throw bad(file);
    const rf64 = head.toString('ascii', 0, 4) === 'RF64';
    let off = 12;
    let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
    let ds64DataBytes: number | null = null;
    const hdr = Buffer.alloc(8);
    while (off + 8 <= size) {
      await fh.read(hdr, 0, 8, off);
      const id = hdr.toString('ascii', 0, 4);
      let len = hdr.readUInt32LE(4);
      if (id === 'ds64' && len >= 24) {
        // RF64: the real data size (the data chunk's own size field says 0xFFFFFFFF)
        const b = Buffer.alloc(24);
        await fh.read(b, 0, 24, off + 8);
        ds64DataBytes = Number(b.readBigUInt64LE(8));
      } else if (id === 'data' && rf64 && len === 0xffffffff && ds64DataBytes !== null) len = ds64DataBytes;
      if (id === 'fmt ') {
        const b = Buffer.alloc(Math.min(len, 40));
        await fh.read(b, 0, b.length, off + 8);
        let format = b.readUInt16LE(0);
        if (format === 0xfffe && b.length >= 26) format = b.readUInt16LE(24);
        fmt = { format, channels: b.readUInt16LE(2), sampleRate: b.readUInt32LE(4), bits: b.readUInt16LE(14) };
      } else if (id === 'data') {
        if (!fmt) throw bad(file);
        const bytesPerFrame = (fmt.bits / 8) * fmt.channels;
        const avail = size - (off + 8);
        const dataLen = len === 0 || len === 0xffffffff || len > avail ? avail : len;
        if (!((fmt.format === 1 && [16, 24, 32].includes(fmt.bits)) || (fmt.format === 3 && fmt.bits === 32))) throw bad(file);
        return {
          sampleRate: fmt.sampleRate,
          channels: fmt.channels,
          bitsPerSample: fmt.bits,
          float: fmt.format === 3,
          dataOffset: off + 8,
          frames: Math.floor(dataLen / bytesPerFrame),
        };
      }
      off += 8 + len + (len % 2);
    }
    throw bad(file);
  } finally {
    await fh.close();
  }
}

function bad(file: string): StemdeckError {
  return new StemdeckError('input-corrupt', `${file} is not a WAV file Stemdeck can read. Separate the song again.`);
}

/** Streams planar chunks of up to `chunkFrames` frames. */
export async function* readWavChunks(file: string, chunkFrames = 65536): AsyncGenerator<Float32Array[]> {
  const info = await readWavInfo(file);
  const bps = info.bitsPerSample / 8;
  const frameBytes = bps * info.channels;
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(chunkFrames * frameBytes);
    let frame = 0;
    while (frame < info.frames) {
      const n = Math.min(chunkFrames, info.frames - frame);
      const { bytesRead } = await fh.read(buf, 0, n * frameBytes, info.dataOffset + frame * frameBytes);
      const got = Math.floor(bytesRead / frameBytes);
      if (got === 0) break;
      const ch = info.channels;
      const out = Array.from({ length: ch }, () => new Float32Array(got));
      if (LITTLE_ENDIAN && (info.float || bps === 2 || bps === 4)) {
        // Typed views over the (offset-0, non-pooled) buffer: no per-sample method calls.
        const view = info.float
          ? new Float32Array(buf.buffer, buf.byteOffset, got * ch)
          : bps === 2
            ? new Int16Array(buf.buffer, buf.byteOffset, got * ch)
            : new Int32Array(buf.buffer, buf.byteOffset, got * ch);
        const scale = info.float ? 1 : bps === 2 ? 1 / 32768 : 1 / 2147483648;
        for (let c = 0; c < ch; c++) {
          const o = out[c];
          for (let i = 0, j = c; i < got; i++, j += ch) o[i] = view[j] * scale;
        }
      } else {
        for (let i = 0; i < got; i++) {
          for (let c = 0; c < ch; c++) {
            const p = i * frameBytes + c * bps;
            let v: number;
            if (info.float) v = buf.readFloatLE(p);
            else if (bps === 2) v = buf.readInt16LE(p) / 32768;
            else if (bps === 3) v = buf.readIntLE(p, 3) / 8388608;
            else v = buf.readInt32LE(p) / 2147483648;
            out[c][i] = v;
          }
        }
      }
      yield out;
      frame += got;
    }
  } finally {
    await fh.close();
  }
}

/** The largest size a RIFF header can state (u32); bigger files are RF64 (EBU Tech 3306). */
export const RIFF_MAX_BYTES = 0xffffffff;

export interface WavLayout {
  sampleRate: number;
  channels: number;
  bits: 16 | 24 | 32;
  /** IEEE float samples (32-bit only); else integer PCM */
  float: boolean;
}

/**
 * The header of a WAV file whose sample data is `dataBytes` long (the data follows the header;
 * a pad byte follows odd-sized data). A file over RIFF's 4 GiB is written as RF64: "RF64" and
 * 0xFFFFFFFF in the 32-bit size fields, the real sizes in a `ds64` chunk right after "WAVE".
 * `reserveDs64` puts a 28-byte `JUNK` chunk where `ds64` would go, so that a writer that learns
 * the size only at the end can patch the header in place either way (same length); it is
 * ignored by every reader. Float data gets the `fact` chunk and the 18-byte `fmt ` the format asks for.
 * `chunks` (whole chunks of even length, e.g. wav-metadata.ts's acid and bext) go right before `data`.
 */
export function buildWavHeader(layout: WavLayout, dataBytes: number, opts: { reserveDs64?: boolean; chunks?: Buffer } = {}): Buffer {
  const { sampleRate, channels, bits, float } = layout;
  const blockAlign = (bits / 8) * channels;
  const frames = Math.floor(dataBytes / blockAlign);
  const fmtSize = float ? 18 : 16;
  const ds64Size = 28;
  const extra = opts.chunks ?? Buffer.alloc(0);
  if (extra.length % 2) throw new Error('internal: WAV chunks must have an even length');
  const withoutDs64 = 12 + 8 + fmtSize + (float ? 12 : 0) + extra.length + 8;
  const riffSizeIf = (headerBytes: number): number => headerBytes - 8 + dataBytes + (dataBytes % 2);
  const rf64 = riffSizeIf(withoutDs64 + (opts.reserveDs64 ? 8 + ds64Size : 0)) > RIFF_MAX_BYTES;
  const headerBytes = withoutDs64 + (rf64 || opts.reserveDs64 ? 8 + ds64Size : 0);
  const riffSize = riffSizeIf(headerBytes);
  const u32 = (x: number): number => (rf64 ? 0xffffffff : x);
  const h = Buffer.alloc(headerBytes);
  let o = 0;
  const tag = (id: string, size: number): void => {
    h.write(id, o, 'ascii');
    h.writeUInt32LE(size, o + 4);
    o += 8;
  };
  h.write(rf64 ? 'RF64' : 'RIFF', 0, 'ascii');
  h.writeUInt32LE(u32(riffSize), 4);
  h.write('WAVE', 8, 'ascii');
  o = 12;
  if (rf64 || opts.reserveDs64) {
    tag(rf64 ? 'ds64' : 'JUNK', ds64Size);
    if (rf64) {
      h.writeBigUInt64LE(BigInt(riffSize), o);
      h.writeBigUInt64LE(BigInt(dataBytes), o + 8);
      h.writeBigUInt64LE(BigInt(frames), o + 16);
      h.writeUInt32LE(0, o + 24); // no table of other chunk sizes
    }
    o += ds64Size;
  }
  tag('fmt ', fmtSize);
  h.writeUInt16LE(float ? 3 : 1, o);
  h.writeUInt16LE(channels, o + 2);
  h.writeUInt32LE(sampleRate, o + 4);
  h.writeUInt32LE(sampleRate * blockAlign, o + 8);
  h.writeUInt16LE(blockAlign, o + 12);
  h.writeUInt16LE(bits, o + 14);
  if (float) h.writeUInt16LE(0, o + 16); // cbSize
  o += fmtSize;
  if (float) {
    tag('fact', 4);
    h.writeUInt32LE(u32(frames), o);
    o += 4;
  }
  extra.copy(h, o);
  o += extra.length;
  tag('data', u32(dataBytes));
  return h;
}

export type WavSampleFormat = 'wav16' | 'wav24' | 'wav32f';

export function wavLayout(format: WavSampleFormat, sampleRate: number, channels: number): WavLayout {
  return { sampleRate, channels, bits: format === 'wav16' ? 16 : format === 'wav24' ? 24 : 32, float: format === 'wav32f' };
}

/** The header of a WAV file of `frames` frames (RIFF, or RF64 over 4 GiB). */
export function wavHeader(format: WavSampleFormat, sampleRate: number, channels: number, frames: number): Buffer {
  const layout = wavLayout(format, sampleRate, channels);
  return buildWavHeader(layout, frames * (layout.bits / 8) * channels);
}

/**
 * Planar → interleaved little-endian samples of the given format: the one sample encoder of every
 * WAV Stemdeck writes (stems, exports, drag-out). Integers: round(x · 2^(bits−1)), clipped to the
 * format's range — the scale the reader divides by and ffmpeg's float → integer conversion uses, so
 * k / 2^(bits−1) round-trips exactly. No dither.
 */
export function encodeSamples(format: WavSampleFormat, planar: Float32Array[]): Buffer {
  const ch = planar.length;
  const n = planar[0]?.length ?? 0;
  const bps = format === 'wav16' ? 2 : format === 'wav24' ? 3 : 4;
  const out = Buffer.allocUnsafe(n * ch * bps); // every byte is written below
  if (LITTLE_ENDIAN && format === 'wav32f') {
    const v = new Float32Array(out.buffer, out.byteOffset, n * ch);
    for (let c = 0; c < ch; c++) {
      const src = planar[c];
      for (let i = 0, j = c; i < n; i++, j += ch) v[j] = src[i];
    }
    return out;
  }
  if (LITTLE_ENDIAN && format === 'wav16') {
    const v = new Int16Array(out.buffer, out.byteOffset, n * ch);
    for (let c = 0; c < ch; c++) {
      const src = planar[c];
      for (let i = 0, j = c; i < n; i++, j += ch) {
        const q = Math.round(src[i] * 32768);
        v[j] = q > 32767 ? 32767 : q < -32768 ? -32768 : q;
      }
    }
    return out;
  }
  if (format === 'wav24') {
    for (let c = 0; c < ch; c++) {
      const src = planar[c];
      for (let i = 0, p = c * 3; i < n; i++, p += ch * 3) {
        let q = Math.round(src[i] * 8388608);
        q = q > 8388607 ? 8388607 : q < -8388608 ? -8388608 : q;
        out[p] = q & 0xff;
        out[p + 1] = (q >> 8) & 0xff;
        out[p + 2] = (q >> 16) & 0xff;
      }
    }
    return out;
  }
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < ch; c++) {
      const x = planar[c][i];
      if (format === 'wav32f') out.writeFloatLE(x, p);
      else out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x * 32768))), p);
      p += bps;
    }
  }
  return out;
}
