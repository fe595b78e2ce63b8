/**
 * The files of a live separation (live.ts FrameStore on disk): raw interleaved float32 little-endian
 * samples at the model's rate, no header, frame f at byte f · channels · 4 — written at any offset
 * as regions finish, and read back by byte range (the mixer fetches the finished regions of each
 * stem with HTTP Range requests, and the mixture as it is decoded).
 *
 *   <dir>/mixture.f32          the decoded mixture (written first, in order)
 *   <dir>/<stem>.f32           each of the job's stems, filled region by region
 *   <dir>/stage<k>-input.f32   a cascade's stage k input (k ≥ 1)
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Planar } from './adapters/types.js';
import type { FrameStore } from './live.js';

export const LIVE_SAMPLE_BYTES = 4;

export function liveFileName(name: string): string {
  return `${name}.f32`;
}

/** A FrameStore over one raw float32 file (see the module comment). */
export class FileFrameStore implements FrameStore {
  private constructor(
    readonly file: string,
    readonly channels: number,
    private readonly handle: fs.FileHandle,
  ) {}

  static async create(dir: string, name: string, channels: number): Promise<FileFrameStore> {
    const file = path.join(dir, liveFileName(name));
    return new FileFrameStore(file, channels, await fs.open(file, 'w+'));
  }

  async read(from: number, to: number): Promise<Planar> {
    const C = this.channels;
    const n = Math.max(0, to - from);
    const bytes = Buffer.alloc(n * C * LIVE_SAMPLE_BYTES);
    let got = 0;
    while (got < bytes.length) {
      const { bytesRead } = await this.handle.read(bytes, got, bytes.length - got, from * C * LIVE_SAMPLE_BYTES + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    const inter = new Float32Array(bytes.buffer, bytes.byteOffset, n * C);
    const out = Array.from({ length: C }, () => new Float32Array(n));
    for (let c = 0; c < C; c++) {
      const o = out[c];
      for (let i = 0, j = c; i < n; i++, j += C) o[i] = inter[j];
    }
    return out;
  }

  async write(from: number, planes: Planar): Promise<void> {
    const C = this.channels;
    const n = planes[0]?.length ?? 0;
    const inter = new Float32Array(n * C);
    for (let c = 0; c < C; c++) {
      const p = planes[c];
      for (let i = 0, j = c; i < n; i++, j += C) inter[j] = p[i];
    }
    const bytes = Buffer.from(inter.buffer, inter.byteOffset, inter.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, from * C * LIVE_SAMPLE_BYTES + done);
      done += bytesWritten;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
