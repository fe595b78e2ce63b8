/**
 * Probing and decoding audio with ffmpeg (ffprobe is not shipped by @ffmpeg-installer, so the
 * probe parses `ffmpeg -i` output).
 *
 * decodeAudio streams float32 PCM through a pipe: chunks are planar `Float32Array[]` =
 * [channels][frames] at the requested sample rate. Only the first audio stream is decoded
 * (`-map 0:a:N`), so an NI .stem.mp4 gives its mixture; mono becomes dual mono and more than two
 * channels are downmixed by ffmpeg's standard matrix (`-ac`), any rate is resampled (`-ar`).
 *
 * Input integrity (what reaches the model is what the file holds, or the user is told):
 * - samples that are not numbers (NaN, ±Infinity, e.g. in a float WAV) are replaced with 0 and
 *   counted (a warning);
 * - a file that decodes clearly shorter than its header says (cut off: a download or copy that
 *   stopped) is refused ('input-corrupt', both lengths in the message); where the length cannot be
 *   trusted (a video's container length, a length ffmpeg only estimated) it is a warning instead;
 * - decode errors ffmpeg reports while the rest decodes (a damaged spot) are a warning;
 * - inputs shorter than MIN_INPUT_SECONDS are refused ('input-too-short').
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fsErrorReason, StemdeckError, type StemdeckWarning } from './errors.js';
import { locateFfmpeg } from './ffmpeg.js';
import { zeroNonFinite } from './screen.js';

/**
 * The shortest input Stemdeck separates. Below a fifth of a second there is hardly a note to
 * separate (the bundled models analyse 4096-sample windows, 0.09 s at 44.1 kHz), and a stem of a
 * few milliseconds is more likely a broken file than a wanted result.
 */
export const MIN_INPUT_SECONDS = 0.2;

export interface AudioInfo {
  durationSeconds: number;
  sampleRate: number;
  channels: number;
  codec: string;
  tags: { title?: string; artist?: string; album?: string };
  hasArtwork: boolean;
  /** Number of audio streams (an NI .stem.mp4 has 5: mixture + 4 stems). */
  audioStreams: number;
  /** ffmpeg only estimated the duration from the bitrate (no length in the file): not a promise. */
  durationEstimated: boolean;
  /** The file has a moving-picture video stream (not cover art): its duration is the container's. */
  hasVideo: boolean;
}

export interface DecodeOptions {
  sampleRate: number;
  channels: number;
  /** Index among the file's audio streams (default 0 = the first, the mixture of a .stem.mp4). */
  stream?: number;
  signal?: AbortSignal;
  /**
   * The file's probe: when given, a decode that ends clearly short of its duration fails (or warns,
   * see the module comment), and one shorter than MIN_INPUT_SECONDS fails. A promise (a probe under
   * way) is awaited only when the decode has ended, so the decode need not wait for the probe.
   */
  expected?: AudioInfo | Promise<AudioInfo>;
  /** Filled in while decoding: what was found wrong with the input. */
  report?: DecodeReport;
}

/** What one decode found; `warnings` is complete once the decode has ended without an error. */
export interface DecodeReport {
  frames: number;
  /** Samples that were NaN or ±Infinity (each replaced with 0). */
  nonFinite: number;
  /** Error messages ffmpeg printed while the decode went on. */
  decodeErrors: number;
  firstDecodeError: string | null;
  warnings: StemdeckWarning[];
}

export function newDecodeReport(): DecodeReport {
  return { frames: 0, nonFinite: 0, decodeErrors: 0, firstDecodeError: null, warnings: [] };
}

const LAYOUT_CHANNELS: Record<string, number> = {
  mono: 1,
  stereo: 2,
  '2.1': 3,
  '3.0': 3,
  '3.0(back)': 3,
  '3.1': 4,
  '4.0': 4,
  quad: 4,
  'quad(side)': 4,
  '4.1': 5,
  '5.0': 5,
  '5.0(side)': 5,
  '5.1': 6,
  '5.1(side)': 6,
  '6.0': 6,
  '6.1': 7,
  '7.0': 7,
  '7.1': 8,
  '7.1(wide)': 8,
  '7.1(wide-side)': 8,
  octagonal: 8,
  downmix: 2,
};

/**
 * A path as an ffmpeg argument: absolute and with the explicit `file:` protocol, so names that
 * start with "-" or look like a protocol ("http:…", "concat:…") are read as plain files.
 */
export function ffmpegPath(file: string): string {
  return `file:${path.resolve(file)}`;
}

/** A clear error for an input path that cannot be opened (missing, a link loop, a dangling link, …). */
function inputAccessError(file: string, e: unknown): StemdeckError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ELOOP')
    return new StemdeckError(
      'input-missing',
      `"${file}" is a symbolic link that leads back to itself (a link loop), so there is no file behind it. Pick the audio file itself, or point the link at it.`,
    );
  if (code === 'ENOENT') {
    let target: string | null = null;
    try {
      if (fs.lstatSync(file).isSymbolicLink()) target = fs.readlinkSync(file);
    } catch {
      // not there at all
    }
    if (target !== null)
      return new StemdeckError(
        'input-missing',
        `"${file}" is a symbolic link to "${target}", which does not exist (moved, deleted, or on a drive that is not connected). Pick the audio file itself.`,
      );
    return new StemdeckError('input-missing', `Input file not found: "${file}". Check the path and try again.`);
  }
  if (code === 'EACCES' || code === 'EPERM')
    return new StemdeckError('input-missing', `"${file}" cannot be read (permission denied). Check its permissions.`);
  return new StemdeckError('input-missing', `"${file}" cannot be opened: ${fsErrorReason(e)}. Check the path and try again.`);
}

function notAudioError(file: string): StemdeckError {
  return new StemdeckError(
    'input-not-audio',
    `"${file}" is not audio that ffmpeg can read: it may be another kind of file (text, an image, …) under an audio name, or badly damaged. Pick an audio or video file with sound.`,
  );
}

function checkInput(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw inputAccessError(file, e);
  }
  if (st.isDirectory())
    throw new StemdeckError('input-not-audio', `"${file}" is a folder, not an audio file. Pick an audio or video file.`);
  if (st.size === 0)
    throw new StemdeckError('input-corrupt', `"${file}" is empty (0 bytes). Pick a complete audio file.`);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    throw inputAccessError(file, e);
  }
}

function run(args: string[], signal?: AbortSignal): Promise<{ code: number | null; stderr: string }> {
  const { path: ffmpeg } = locateFfmpeg();
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 200_000) stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function parseDuration(s: string): number | null {
  const m = /Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(s);
  if (!m) return null;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** Parses the output of `ffmpeg -i file` (exit code 1 "no output file" is expected). */
export function parseFfmpegInfo(stderr: string): Omit<AudioInfo, never> | null {
  const lines = stderr.split(/\r?\n/);
  const inputIdx = lines.findIndex((l) => /^Input #0/.test(l));
  if (inputIdx < 0) return null;
  const tags: AudioInfo['tags'] = {};
  // Format-level metadata: between "Input #0" and the first "Stream" / "Duration" line, indented 4.
  let inMeta = false;
  for (let i = inputIdx + 1; i < lines.length; i++) {
    const l = lines[i];
    if (/^\s{2}Metadata:/.test(l)) {
      inMeta = true;
      continue;
    }
    if (/^\s{2}\S/.test(l)) {
      if (inMeta) break;
      continue;
    }
    if (!inMeta) continue;
    const m = /^\s{4}(\w[\w-]*)\s*:\s?(.*)$/.exec(l);
    if (!m) continue;
    const key = m[1].toLowerCase();
    const val = m[2].trim();
    if (!val) continue;
    if (key === 'title' && tags.title === undefined) tags.title = val;
    else if ((key === 'artist' || key === 'album_artist') && tags.artist === undefined) tags.artist = val;
    else if (key === 'album' && tags.album === undefined) tags.album = val;
  }
  let audio: { codec: string; sampleRate: number; channels: number } | null = null;
  let audioStreams = 0;
  let hasArtwork = false;
  let hasVideo = false;
  const durationEstimated = /Estimating duration from bitrate/.test(stderr);
  for (const l of lines) {
    const s = /^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Audio|Video): (.*)$/.exec(l);
    if (!s) continue;
    if (s[1] === 'Video') {
      // "(attached pic)" in newer ffmpeg; older builds only show a still-image codec (cover art)
      if (/attached pic/.test(s[2]) || /^(png|mjpeg|jpeg|bmp|gif|webp|tiff)\b/i.test(s[2])) hasArtwork = true;
      else hasVideo = true;
      continue;
    }
    audioStreams++;
    if (audio) continue;
    const desc = s[2];
    const codec = (/^([\w-]+)/.exec(desc)?.[1] ?? 'unknown').toLowerCase();
    const sr = /(\d+) Hz/.exec(desc);
    const parts = desc.split(',').map((p) => p.trim());
    let channels = 0;
    const hzIdx = parts.findIndex((p) => /\d+ Hz/.test(p));
    const layout = hzIdx >= 0 ? parts[hzIdx + 1] : undefined;
    if (layout) {
      const n = /^(\d+) channels/.exec(layout);
      if (n) channels = Number(n[1]);
      else if (LAYOUT_CHANNELS[layout] !== undefined) channels = LAYOUT_CHANNELS[layout];
      else {
        const base = layout.replace(/\(.*\)$/, '');
        channels = LAYOUT_CHANNELS[base] ?? 0;
      }
    }
    audio = { codec, sampleRate: sr ? Number(sr[1]) : 0, channels };
  }
  if (!audio)
    return { durationSeconds: parseDuration(stderr) ?? 0, sampleRate: 0, channels: 0, codec: '', tags, hasArtwork, audioStreams: 0, durationEstimated, hasVideo };
  return {
    durationSeconds: parseDuration(stderr) ?? 0,
    sampleRate: audio.sampleRate,
    channels: audio.channels,
    codec: audio.codec,
    tags,
    hasArtwork,
    audioStreams,
    durationEstimated,
    hasVideo,
  };
}

/** Reads a file's audio properties and tags. Throws StemdeckError for missing / non-audio files. */
export async function probeAudio(file: string): Promise<AudioInfo> {
  checkInput(file);
  // before ffmpeg: a WAV cut inside its header is "not audio" to ffmpeg, but it is a cut-off file
  checkWavLength(file);
  const { stderr } = await run(['-hide_banner', '-nostdin', '-i', ffmpegPath(file)]);
  const info = parseFfmpegInfo(stderr);
  if (!info) {
    // A text file named .mp3 ends in "…: Invalid argument" after a low-score format guess.
    if (/Invalid data found|could not find codec parameters|moov atom not found|End of file|Invalid argument|misdetection possible/i.test(stderr))
      throw notAudioError(file);
    throw new StemdeckError('input-corrupt', `"${file}" could not be read: ${lastLine(stderr)}. Try another copy of the file.`);
  }
  if (info.audioStreams === 0)
    throw new StemdeckError('input-not-audio', `"${file}" has no audio stream. Pick a file with sound.`);
  return info;
}

/** "0.16 s", "4.00 s", "3:25.4". */
function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(1).padStart(4, '0')}`;
}

/** A decode clearly short of the expected length: more than half a second and more than 1 % missing. */
function clearlyShort(expectedSeconds: number, gotSeconds: number): boolean {
  return expectedSeconds > 0 && expectedSeconds - gotSeconds > Math.max(0.5, 0.01 * expectedSeconds);
}

function truncatedError(file: string, expectedSeconds: number, gotSeconds: number): StemdeckError {
  return new StemdeckError(
    'input-corrupt',
    `"${file}" is cut off or damaged: it should last ${formatSeconds(expectedSeconds)}, but only ${formatSeconds(gotSeconds)} could be decoded. Use a complete copy of the file (download or export it again).`,
  );
}

function tooShortError(file: string, seconds: number): StemdeckError {
  return new StemdeckError(
    'input-too-short',
    `"${file}" is too short to separate (${formatSeconds(seconds)}; Stemdeck needs at least ${MIN_INPUT_SECONDS} s of audio). Pick a longer file.`,
  );
}

/** Refuses an input whose probed length is known and below MIN_INPUT_SECONDS (before any work). */
export function checkLongEnough(file: string, info: AudioInfo): void {
  if (info.durationSeconds > 0 && !info.durationEstimated && info.durationSeconds < MIN_INPUT_SECONDS) throw tooShortError(file, info.durationSeconds);
}

/**
 * A RIFF/WAVE file whose data chunk promises more bytes than the file holds was cut off. ffmpeg
 * then reports the length of what is there (estimated from the size), so the decode alone cannot
 * tell: the header says how long the file should be. A data size of 0 or 0xFFFFFFFF (streamed, or
 * RF64) promises nothing. A file that ends inside its header chunks, before the data chunk (a
 * copy that stopped within the first bytes), is cut off too: ffmpeg calls it invalid data, but
 * the RIFF size says how long it should be.
 */
function checkWavLength(file: string): void {
  let head: Buffer;
  let size: number;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      size = fs.fstatSync(fd).size;
      head = Buffer.alloc(Math.min(size, 1 << 16));
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return; // the decode reports unreadable files
  }
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return;
  let bytesPerSecond = 0;
  let off = 12;
  for (; off + 8 <= head.length; ) {
    const id = head.toString('latin1', off, off + 4);
    const len = head.readUInt32LE(off + 4);
    if (id === 'fmt ' && off + 16 <= head.length) bytesPerSecond = head.readUInt32LE(off + 8 + 8);
    if (id === 'data') {
      if (len === 0 || len === 0xffffffff || bytesPerSecond <= 0) return;
      const available = Math.max(0, size - (off + 8));
      if (len > available && clearlyShort(len / bytesPerSecond, available / bytesPerSecond))
        throw truncatedError(file, len / bytesPerSecond, available / bytesPerSecond);
      return;
    }
    off += 8 + len + (len % 2);
  }
  // No data chunk in the whole file: cut off when it ends inside a chunk, or between chunks short
  // of the size its RIFF header gives (0 and 0xFFFFFFFF: a streamed file, no size promised).
  if (head.length < size) return;
  const riffField = head.readUInt32LE(4);
  const riffBytes = riffField + 8;
  const promised = riffField !== 0 && riffField !== 0xffffffff && riffBytes > size;
  if (off === size && !promised) return;
  throw new StemdeckError(
    'input-corrupt',
    `"${file}" is cut off or damaged: it is a WAV file that ends inside its header, before any audio (${promised ? `its header says ${riffBytes} bytes, ` : ''}the file holds ${size}). Use a complete copy of the file (download or export it again).`,
  );
}

function lastLine(s: string): string {
  const lines = s
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines[lines.length - 1] ?? 'unknown error').slice(0, 300);
}

/**
 * Decodes the file's first (or `stream`-th) audio stream to planar float32 at the given rate and
 * channel count, streamed. Chunks are [channels][frames]; their sizes vary. Stops ffmpeg if the
 * consumer stops early or `signal` aborts. Throws StemdeckError on missing/unreadable/corrupt input.
 */
export async function* decodeAudio(file: string, opts: DecodeOptions): AsyncGenerator<Float32Array[]> {
  checkInput(file);
  const C = opts.channels;
  if (!Number.isInteger(C) || C < 1) throw new RangeError('channels must be ≥ 1');
  const { path: ffmpeg } = locateFfmpeg();
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-i',
    ffmpegPath(file),
    '-map',
    `0:a:${opts.stream ?? 0}`,
    '-vn',
    '-sn',
    '-dn',
    '-ac',
    String(C),
    '-ar',
    String(opts.sampleRate),
    '-f',
    'f32le',
    '-acodec',
    'pcm_f32le',
    'pipe:1',
  ];
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const report = opts.report ?? newDecodeReport();
  let stderr = '';
  let partialLine = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 100_000) stderr += d;
    // at -v error every line is an error; the decode may still go on past it (a damaged spot)
    const lines = (partialLine + d).split(/\r?\n/);
    partialLine = lines.pop() ?? '';
    for (const line of lines) noteDecodeError(report, line);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const frameBytes = 4 * C;
  let carry: Buffer | null = null;
  let total = 0;
  let finished = false;
  try {
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      if (opts.signal?.aborted) break;
      let buf: Buffer = data;
      if (carry) {
        buf = Buffer.concat([carry, data]);
        carry = null;
      }
      const frames = Math.floor(buf.length / frameBytes);
      const rest = buf.length - frames * frameBytes;
      if (rest > 0) carry = Buffer.from(buf.subarray(buf.length - rest));
      if (frames === 0) continue;
      // interleaved f32le → planar; copy into an aligned buffer first if needed
      let f32: Float32Array;
      if (buf.byteOffset % 4 === 0) f32 = new Float32Array(buf.buffer, buf.byteOffset, frames * C);
      else {
        const copy = new Uint8Array(frames * frameBytes);
        copy.set(buf.subarray(0, frames * frameBytes));
        f32 = new Float32Array(copy.buffer);
      }
      const planar: Float32Array[] = [];
      for (let c = 0; c < C; c++) planar.push(new Float32Array(frames));
      if (C === 2) {
        const l = planar[0];
        const r = planar[1];
        for (let i = 0, j = 0; i < frames; i++, j += 2) {
          l[i] = f32[j];
          r[i] = f32[j + 1];
        }
      } else {
        for (let i = 0; i < frames; i++) for (let c = 0; c < C; c++) planar[c][i] = f32[i * C + c];
      }
      report.nonFinite += zeroNonFinite(planar);
      total += frames;
      report.frames = total;
      yield planar;
    }
    finished = true;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!finished && child.exitCode === null) child.kill('SIGKILL');
  }
  if (opts.signal?.aborted) throw new StemdeckError('cancelled', 'Cancelled.');
  const code = await exited;
  noteDecodeError(report, partialLine);
  if (code !== 0 || total === 0) throw decodeError(file, stderr, code, total);
  const expected = await opts.expected;
  if (expected) checkDecodedLength(file, expected, total / opts.sampleRate, report);
  if (report.nonFinite > 0)
    report.warnings.push({
      code: 'input-non-finite',
      message: `"${file}" holds ${report.nonFinite} sample${report.nonFinite === 1 ? '' : 's'} that ${report.nonFinite === 1 ? 'is' : 'are'} not a number (NaN or infinity); ${report.nonFinite === 1 ? 'it was' : 'they were'} replaced with silence. Check the program that made the file.`,
    });
  if (report.decodeErrors > 0)
    report.warnings.push({
      code: 'input-damaged',
      message: `"${file}" is damaged: ffmpeg reported ${report.decodeErrors} error${report.decodeErrors === 1 ? '' : 's'} while decoding it (the first: "${report.firstDecodeError}"); those spots may be silent or glitchy in the stems. Use another copy of the file if you can.`,
    });
}

function noteDecodeError(report: DecodeReport, line: string): void {
  const text = line.trim();
  if (!text) return;
  report.decodeErrors++;
  // "[flac @ 0x55d…] invalid residual" → "invalid residual"
  report.firstDecodeError ??= text.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '').slice(0, 200);
}

/** The decode ended: refuse (or, where the expected length is not the audio's, warn about) a short result. */
function checkDecodedLength(file: string, expected: AudioInfo, gotSeconds: number, report: DecodeReport): void {
  if (!expected.durationEstimated && clearlyShort(expected.durationSeconds, gotSeconds)) {
    if (!expected.hasVideo) throw truncatedError(file, expected.durationSeconds, gotSeconds);
    report.warnings.push({
      code: 'input-length',
      message: `"${file}" is ${formatSeconds(expected.durationSeconds)} long, but its sound ends after ${formatSeconds(gotSeconds)} (the stems are that long). If the sound should go on, the file is damaged: use another copy.`,
    });
  }
  if (gotSeconds < MIN_INPUT_SECONDS) throw tooShortError(file, gotSeconds);
}

function decodeError(file: string, stderr: string, code: number | null, frames: number): StemdeckError {
  if (/Stream map '0:a:\d+' matches no streams|does not contain any stream|matches no streams/i.test(stderr))
    return new StemdeckError('input-not-audio', `"${file}" has no audio stream. Pick a file with sound.`);
  if (/Invalid data found when processing input|could not find codec parameters|Invalid argument|misdetection possible/i.test(stderr) && frames === 0)
    return notAudioError(file);
  if (frames === 0 && code === 0)
    return new StemdeckError('input-corrupt', `"${file}" contains no audio samples. Pick a complete audio file.`);
  return new StemdeckError(
    'input-corrupt',
    `"${file}" could not be decoded (${lastLine(stderr)}). The file may be truncated or damaged; try another copy.`,
  );
}

/** Decodes a whole (short) file into memory: planar [channels][frames]. For tests and small files. */
export async function decodeAll(file: string, opts: DecodeOptions): Promise<Float32Array[]> {
  const chunks: Float32Array[][] = [];
  let n = 0;
  for await (const c of decodeAudio(file, opts)) {
    chunks.push(c);
    n += c[0].length;
  }
  const out: Float32Array[] = [];
  for (let ch = 0; ch < opts.channels; ch++) {
    const a = new Float32Array(n);
    let o = 0;
    for (const c of chunks) {
      a.set(c[ch], o);
      o += c[ch].length;
    }
    out.push(a);
  }
  return out;
}
