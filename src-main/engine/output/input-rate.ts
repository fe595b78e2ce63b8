/**
 * Stems at the input's sample rate and exact length, when the model runs at another rate (a 48 or
 * 96 kHz song through a 44.1 kHz model): the stems are resampled back by ffmpeg (the resampler that
 * brought the input to the model's rate, swr with its defaults: aligned, no delay), streamed through
 * a pipe per stem, and cut or padded to the input's frame count at its own rate, which a second,
 * light ffmpeg pass counts (mono 8-bit at the input's rate, counted, not kept: ffmpeg's probe gives
 * the duration only to 10 ms). Memory stays O(chunk).
 *
 * Why ffmpeg: a windowed-sinc resampler in JS (32 taps) took 0.9 s per minute of stereo at 44.1 → 48
 * kHz and 2 s at → 96 kHz on the 2-core machine, libsamplerate's WASM port 1.3–2.8 s (→ 96 kHz):
 * 10–45 s for the four stems of a 4-minute song; ffmpeg's native one is a fraction of a second.
 *
 * Shapes: planar [channels][frames] float32.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StemdeckError } from '../errors.js';
import { locateFfmpeg } from '../ffmpeg.js';
import { ffmpegPath } from '../decode.js';

/** Frames of a file's audio stream `stream` at its own rate, as ffmpeg decodes it (null if it cannot). */
export function countInputFrames(file: string, stream = 0, signal?: AbortSignal): Promise<number | null> {
  return new Promise((resolve) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(
        locateFfmpeg().path,
        ['-hide_banner', '-nostdin', '-v', 'error', '-i', ffmpegPath(file), '-map', `0:a:${stream}`, '-ac', '1', '-c:a', 'pcm_u8', '-f', 'u8', 'pipe:1'],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      ) as unknown as ChildProcessWithoutNullStreams;
    } catch {
      resolve(null);
      return;
    }
    let frames = 0;
    child.stdout.on('data', (d: Buffer) => (frames += d.length));
    child.stderr.resume();
    const onAbort = (): void => void child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', () => resolve(null));
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(code === 0 ? frames : null);
    });
  });
}

/** Resamples a stream of planar chunks from `from` to `to` Hz through one ffmpeg process. */
export class FfmpegResampler {
  private readonly child: ChildProcessWithoutNullStreams;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private stderr = '';
  private readonly closed: Promise<{ code: number | null; error?: Error }>;
  private exit: { code: number | null; error?: Error } | null = null;

  constructor(
    readonly channels: number,
    readonly from: number,
    readonly to: number,
  ) {
    const args = ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'f32le', '-ar', String(from), '-ac', String(channels), '-i', 'pipe:0'];
    this.child = spawn(locateFfmpeg().path, [...args, '-af', `aresample=${to}`, '-f', 'f32le', '-ar', String(to), 'pipe:1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }) as unknown as ChildProcessWithoutNullStreams;
    this.child.stdout.on('data', (d: Buffer) => {
      this.pending.push(d);
      this.pendingBytes += d.length;
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 10_000) this.stderr += d;
    });
    this.child.stdin.on('error', () => undefined); // EPIPE when ffmpeg died: reported through `closed`
    this.closed = new Promise((resolve) => {
      this.child.once('error', (error) => resolve((this.exit ??= { code: null, error })));
      this.child.once('close', (code) => resolve((this.exit ??= { code })));
    });
  }

  private failure(): StemdeckError {
    const why = this.exit?.error?.message ?? (this.stderr.trim().split('\n').pop() || `exit code ${this.exit?.code}`);
    return new StemdeckError('internal', `Resampling the stems to ${this.to} Hz failed: ffmpeg ${why}. Try again.`);
  }

  /** Feeds one chunk; returns the output frames ffmpeg has made so far (maybe none). */
  async push(planar: Float32Array[]): Promise<Float32Array[]> {
    if (this.exit) throw this.failure();
    const n = planar[0]?.length ?? 0;
    if (n > 0) {
      const buf = Buffer.allocUnsafe(n * this.channels * 4);
      const v = new Float32Array(buf.buffer, buf.byteOffset, n * this.channels);
      for (let c = 0; c < this.channels; c++) for (let i = 0, j = c; i < n; i++, j += this.channels) v[j] = planar[c][i];
      if (!this.child.stdin.write(buf)) await Promise.race([new Promise((r) => this.child.stdin.once('drain', r)), this.closed]);
      if (this.exit) throw this.failure();
    }
    return this.take();
  }

  /** Ends the input; returns the rest of the output. */
  async end(): Promise<Float32Array[]> {
    this.child.stdin.end();
    const exit = await this.closed;
    if (exit.code !== 0) throw this.failure();
    return this.take();
  }

  /** Stops ffmpeg (a failed or cancelled job). */
  abort(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }

  /** The whole frames received, deinterleaved; a partial frame stays for the next call. */
  private take(): Float32Array[] {
    const frameBytes = 4 * this.channels;
    const frames = Math.floor(this.pendingBytes / frameBytes);
    const out = Array.from({ length: this.channels }, () => new Float32Array(frames));
    if (frames === 0) return out;
    const all = Buffer.concat(this.pending, this.pendingBytes);
    const used = frames * frameBytes;
    const aligned = Buffer.from(all.subarray(0, used)); // a fresh buffer: offset 0, so a Float32Array view fits
    const v = new Float32Array(aligned.buffer, aligned.byteOffset, frames * this.channels);
    for (let c = 0; c < this.channels; c++) for (let i = 0, j = c; i < frames; i++, j += this.channels) out[c][i] = v[j];
    const rest = all.subarray(used);
    this.pending = rest.length ? [Buffer.from(rest)] : [];
    this.pendingBytes = rest.length;
    return out;
  }
}

/**
 * Cuts or pads a resampled stream to an exact length known only at the end: holds back the last
 * HOLD frames (the resampled length is within a frame or two of the input's) so that they can be
 * cut, and pads with silence when short.
 */
export class ExactLength {
  static readonly HOLD = 4096;
  private held: Float32Array[];
  private heldLen = 0;
  private written = 0;

  constructor(
    private readonly channels: number,
    private readonly write: (planar: Float32Array[]) => Promise<void>,
  ) {
    this.held = Array.from({ length: channels }, () => new Float32Array(0));
  }

  /** Takes output frames; writes all but the last HOLD. */
  async push(planar: Float32Array[]): Promise<void> {
    const n = planar[0]?.length ?? 0;
    if (n === 0) return;
    const joined = this.held.map((h, c) => {
      const j = new Float32Array(this.heldLen + n);
      j.set(h.subarray(0, this.heldLen));
      j.set(planar[c], this.heldLen);
      return j;
    });
    const total = this.heldLen + n;
    const out = Math.max(0, total - ExactLength.HOLD);
    if (out > 0) {
      await this.write(joined.map((j) => j.subarray(0, out)));
      this.written += out;
    }
    this.held = joined.map((j) => j.slice(out));
    this.heldLen = total - out;
  }

  /** Writes what is held, cut or padded so that `frames` were written in all (null: as it is). */
  async finish(frames: number | null): Promise<void> {
    const want = frames === null ? this.written + this.heldLen : frames;
    const fromHeld = Math.max(0, Math.min(this.heldLen, want - this.written));
    if (fromHeld > 0) await this.write(this.held.map((h) => h.subarray(0, fromHeld)));
    this.written += fromHeld;
    for (const step = 1 << 15; this.written < want; ) {
      const n = Math.min(step, want - this.written);
      await this.write(Array.from({ length: this.channels }, () => new Float32Array(n)));
      this.written += n;
    }
    this.heldLen = 0;
  }
}
