/**
 * Minimal streaming WAV reader/writer for the app's own files (stems written by the engine,
 * exports, drag-out files). Audio is planar `Float32Array[]` = [channels][frames].
 * Reads PCM 16/24/32-bit int and 32-bit float (plain and WAVE_FORMAT_EXTENSIBLE).
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
    let off = 12;
    let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
    const hdr = Buffer.alloc(8);
    while (off + 8 <= size) {
      await fh.read(hdr, 0, 8, off);
      const id = hdr.toString('ascii', 0, 4);
      const len = hdr.readUInt32LE(4);
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

export type WavSampleFormat = 'wav16' | 'wav24' | 'wav32f';

export function wavHeader(format: WavSampleFormat, sampleRate: number, channels: number, frames: number): Buffer {
  const bits = format === 'wav16' ? 16 : format === 'wav24' ? 24 : 32;
  const float = format === 'wav32f';
  const blockAlign = (bits / 8) * channels;
  const dataLen = frames * blockAlign;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataLen), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(float ? 3 : 1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, dataLen), 40);
  return h;
}

/** Planar → interleaved little-endian samples of the given format (TPDF-free plain rounding, clipped). */
export function encodeSamples(format: WavSampleFormat, planar: Float32Array[]): Buffer {
  const ch = planar.length;
  const n = planar[0]?.length ?? 0;
  const bps = format === 'wav16' ? 2 : format === 'wav24' ? 3 : 4;
  const out = Buffer.alloc(n * ch * bps);
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
