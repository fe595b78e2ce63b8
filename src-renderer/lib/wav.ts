/**
 * Streaming WAV reader for stem playback: the library's stems are WAV (PCM 16/24/32-bit or
 * float 32/64, plain or WAVE_FORMAT_EXTENSIBLE). Reading them directly is faster than
 * decodeAudioData (no resampling, no copy through the decoder thread) and lets playback start
 * from the first seconds of each stem while the rest is still arriving.
 */

export interface WavFormat {
  /** 1 = integer PCM, 3 = IEEE float. */
  format: 1 | 3;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Bytes of sample data (clamped to the file when the header says more or "unknown"). */
  dataBytes: number;
  frames: number;
}

/** Parses the header of a WAV file from its first bytes; null if more bytes are needed; throws if not a supported WAV. */
export function parseWavHeader(bytes: Uint8Array, fileBytes: number | null): WavFormat | null {
  if (bytes.length < 12) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file');
  let off = 12;
  let fmt: Omit<WavFormat, 'dataOffset' | 'dataBytes' | 'frames'> | null = null;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = dv.getUint32(off + 4, true);
    if (id === 'fmt ') {
      if (off + 8 + 16 > bytes.length) return null;
      let format = dv.getUint16(off + 8, true);
      const channels = dv.getUint16(off + 10, true);
      const sampleRate = dv.getUint32(off + 12, true);
      const blockAlign = dv.getUint16(off + 20, true);
      const bitsPerSample = dv.getUint16(off + 22, true);
      if (format === 0xfffe) {
        if (off + 8 + 26 > bytes.length) return null;
        format = dv.getUint16(off + 8 + 24, true);
      }
      if (format !== 1 && format !== 3) throw new Error(`unsupported WAV format ${format}`);
      if (format === 1 && ![16, 24, 32].includes(bitsPerSample)) throw new Error(`unsupported PCM ${bitsPerSample}-bit`);
      if (format === 3 && ![32, 64].includes(bitsPerSample)) throw new Error(`unsupported float ${bitsPerSample}-bit`);
      fmt = { format: format as 1 | 3, channels, sampleRate, bitsPerSample, blockAlign };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data before fmt');
      const dataOffset = off + 8;
      const available = fileBytes === null ? Infinity : fileBytes - dataOffset;
      const declared = size === 0 || size === 0xffffffff ? Infinity : size;
      let dataBytes = Math.min(declared, available);
      if (!Number.isFinite(dataBytes)) dataBytes = 0;
      const frames = Math.floor(dataBytes / fmt.blockAlign);
      return { ...fmt, dataOffset, dataBytes: frames * fmt.blockAlign, frames };
    }
    off += 8 + size + (size & 1);
  }
  return null;
}

/** Deinterleaves frames [from, to) of the sample data in `bytes` into planar float32 channels. */
export function readFrames(bytes: Uint8Array, f: WavFormat, from: number, to: number, out: Float32Array[], outOffset = 0): void {
  const bps = f.bitsPerSample / 8;
  const ch = f.channels;
  const start = bytes.byteOffset + f.dataOffset + from * f.blockAlign;
  if (f.format === 3 && bps === 4 && f.blockAlign === 4 * ch) {
    // fast path (little-endian hosts): a Float32Array over the interleaved samples (copied when unaligned)
    const n = (to - from) * ch;
    const rel = f.dataOffset + from * f.blockAlign;
    const src = start % 4 === 0 ? new Float32Array(bytes.buffer, start, n) : new Float32Array(bytes.slice(rel, rel + n * 4).buffer);
    for (let c = 0; c < ch; c++) {
      const o = out[c];
      for (let i = 0, j = c; i < to - from; i++, j += ch) o[outOffset + i] = src[j];
    }
    return;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = from; i < to; i++) {
    const base = f.dataOffset + i * f.blockAlign;
    const o = outOffset + i - from;
    for (let c = 0; c < ch; c++) {
      const p = base + c * bps;
      let v: number;
      if (f.format === 3) v = bps === 4 ? dv.getFloat32(p, true) : dv.getFloat64(p, true);
      else if (bps === 2) v = dv.getInt16(p, true) / 32768;
      else if (bps === 3) v = ((bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16)) << 8 >> 8) / 8388608;
      else v = dv.getInt32(p, true) / 2147483648;
      out[c][o] = v;
    }
  }
}

/** How much of a stem each stage holds: the first seconds, then ×4 each time, then all of it. */
export const STAGE_GROWTH = 4;
export const MAX_STAGES = 8;

export interface StemStream {
  /** The first seconds (all of it for short stems): resolves quickly. */
  head: Promise<AudioBuffer>;
  /**
   * Longer and longer beginnings of the stem, as they arrive: stage k holds headSeconds·4^k
   * seconds (k ≥ 1); resolves with the whole stem when it is shorter than that.
   */
  stages: Promise<AudioBuffer>[];
  /** The whole stem. */
  full: Promise<AudioBuffer>;
  /** Total duration (s) once the header is known. */
  duration: Promise<number>;
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Bytes requested for the head: header room plus `headSeconds` of up to 96 kHz stereo float32. */
function headRangeBytes(headSeconds: number): number {
  return 64 * 1024 + Math.ceil(headSeconds * 96_000) * 8;
}

function toBuffer(ctx: BaseAudioContext, bytes: Uint8Array, f: WavFormat, frames: number): AudioBuffer {
  const buf = ctx.createBuffer(f.channels, Math.max(1, frames), f.sampleRate);
  const planes = Array.from({ length: f.channels }, () => new Float32Array(Math.max(1, frames)));
  readFrames(bytes, f, 0, frames, planes);
  planes.forEach((p, c) => buf.copyToChannel(p, c));
  return buf;
}

/**
 * Fetches the first `headSeconds` of a stem (a Range request), then — once `rest` resolves — the
 * whole stem, yielding longer beginnings (`stages`) as they arrive.
 * Non-WAV (or unreadable) responses fall back to decodeAudioData on the whole body.
 */
export function streamStem(ctx: BaseAudioContext, url: string, headSeconds: number, what: string, rest?: Promise<unknown>): StemStream {
  const head = deferred<AudioBuffer>();
  const stages = Array.from({ length: MAX_STAGES }, () => deferred<AudioBuffer>());
  let nextStage = 0;
  const full = deferred<AudioBuffer>();
  const duration = deferred<number>();
  let headDone = false;
  void (async () => {
    // 1. The head alone through a Range request, so playback waits for a few seconds of audio
    //    whatever the song's length (not for the start of a several-hundred-MB response).
    let res: Response | null = null;
    try {
      const r = await fetch(url, { headers: { range: `bytes=0-${headRangeBytes(headSeconds) - 1}` } });
      if (r.status === 206) {
        const bytes = new Uint8Array(await r.arrayBuffer());
        const total = Number(/\/(\d+)\s*$/.exec(r.headers.get('content-range') ?? '')?.[1]) || null;
        const f = total === null ? null : parseWavHeader(bytes, total);
        if (f && f.frames > 0) {
          duration.resolve(f.frames / f.sampleRate);
          const headFrames = Math.min(f.frames, Math.ceil(headSeconds * f.sampleRate));
          const have = Math.floor((bytes.length - f.dataOffset) / f.blockAlign);
          if (headFrames < f.frames && have >= headFrames) {
            headDone = true;
            head.resolve(toBuffer(ctx, bytes, f, headFrames));
          }
        }
      } else if (r.ok) res = r; // no Range support: this is the whole stem
    } catch {
      // not a WAV or not reachable: the full request below decides
    }
    // 2. The whole stem once `rest` resolves (streaming hundreds of MB keeps the main thread busy:
    //    the caller lets it start once playback started, or soon after the head is ready).
    if (headDone) await (rest ?? new Promise((r) => setTimeout(r, 0)));
    try {
      res ??= await fetch(url);
    } catch {
      throw new Error(`Could not load ${what}: the Stemdeck server is not reachable.`);
    }
    if (!res.ok || !res.body) throw new Error(`Could not load ${what} (${res.status}). The song folder may have been moved or deleted; separate the file again.`);
    const total = Number(res.headers.get('content-length')) || null;
    let bytes = new Uint8Array(total ?? 1 << 20);
    let len = 0;
    let fmt: WavFormat | null = null;
    let notWav = false;
    const reader = res.body.getReader();
    // Queued chunks resolve read() without a task boundary: yield now and then so that input
    // (the play button) and the player are not starved while a long stem streams in.
    let sliceStart = performance.now();
    const yieldIfBusy = async () => {
      if (performance.now() - sliceStart < 8) return;
      await new Promise((r) => setTimeout(r, 0));
      sliceStart = performance.now();
    };
    for (;;) {
      await yieldIfBusy();
      const { done, value } = await reader.read();
      if (done) break;
      if (len + value.length > bytes.length) {
        const grown = new Uint8Array(Math.max(bytes.length * 2, len + value.length));
        grown.set(bytes.subarray(0, len));
        bytes = grown;
      }
      bytes.set(value, len);
      len += value.length;
      if (!fmt && !notWav) {
        try {
          fmt = parseWavHeader(bytes.subarray(0, len), total);
          if (fmt && fmt.frames > 0) duration.resolve(fmt.frames / fmt.sampleRate);
        } catch {
          notWav = true;
        }
      }
      if (fmt && fmt.frames > 0) {
        const have = Math.floor((len - fmt.dataOffset) / fmt.blockAlign);
        if (!headDone) {
          const headFrames = Math.min(fmt.frames, Math.ceil(headSeconds * fmt.sampleRate));
          if (have >= headFrames && headFrames < fmt.frames) {
            headDone = true;
            head.resolve(toBuffer(ctx, bytes, fmt, headFrames));
          }
        } else {
          for (;;) {
            const frames = Math.ceil(headSeconds * STAGE_GROWTH ** (nextStage + 1) * fmt.sampleRate);
            if (nextStage >= MAX_STAGES || frames >= fmt.frames || have < frames) break;
            await yieldIfBusy();
            stages[nextStage++].resolve(toBuffer(ctx, bytes, fmt, frames));
            sliceStart = 0;
          }
        }
      }
    }
    const data = bytes.subarray(0, len);
    sliceStart = 0;
    await yieldIfBusy();
    let buffer: AudioBuffer;
    if (fmt && !notWav) {
      const f = parseWavHeader(data, len)!;
      buffer = toBuffer(ctx, data, f, f.frames);
    } else {
      try {
        buffer = await ctx.decodeAudioData(data.slice().buffer);
      } catch {
        throw new Error(`The ${what} could not be decoded. Separate the song again.`);
      }
    }
    duration.resolve(buffer.duration);
    if (!headDone) head.resolve(buffer);
    for (; nextStage < MAX_STAGES; nextStage++) stages[nextStage].resolve(buffer);
    full.resolve(buffer);
  })().catch((e: unknown) => {
    head.reject(e);
    for (const s of stages) s.reject(e);
    full.reject(e);
    duration.reject(e);
  });
  return { head: head.promise, stages: stages.map((s) => s.promise), full: full.promise, duration: duration.promise };
}
