/**
 * Probing and decoding audio with ffmpeg (ffprobe is not shipped by @ffmpeg-installer, so the
 * probe parses `ffmpeg -i` output).
 *
 * decodeAudio streams float32 PCM through a pipe: chunks are planar `Float32Array[]` =
 * [channels][frames] at the requested sample rate. Only the first audio stream is decoded
 * (`-map 0:a:N`), so an NI .stem.mp4 gives its mixture; mono becomes dual mono and more than two
 * channels are downmixed by ffmpeg's standard matrix (`-ac`), any rate is resampled (`-ar`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { StemdeckError } from './errors.js';
import { locateFfmpeg } from './ffmpeg.js';

export interface AudioInfo {
  durationSeconds: number;
  sampleRate: number;
  channels: number;
  codec: string;
  tags: { title?: string; artist?: string; album?: string };
  hasArtwork: boolean;
  /** Number of audio streams (an NI .stem.mp4 has 5: mixture + 4 stems). */
  audioStreams: number;
}

export interface DecodeOptions {
  sampleRate: number;
  channels: number;
  /** Index among the file's audio streams (default 0 = the first, the mixture of a .stem.mp4). */
  stream?: number;
  signal?: AbortSignal;
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

function checkInput(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new StemdeckError('input-missing', `Input file not found: "${file}". Check the path and try again.`);
  }
  if (st.isDirectory())
    throw new StemdeckError('input-not-audio', `"${file}" is a folder, not an audio file. Pick an audio or video file.`);
  if (st.size === 0)
    throw new StemdeckError('input-corrupt', `"${file}" is empty (0 bytes). Pick a complete audio file.`);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    throw new StemdeckError('input-missing', `"${file}" cannot be read (permission denied). Check its permissions.`);
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
  for (const l of lines) {
    const s = /^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Audio|Video): (.*)$/.exec(l);
    if (!s) continue;
    if (s[1] === 'Video') {
      // "(attached pic)" in newer ffmpeg; older builds only show a still-image codec (cover art)
      if (/attached pic/.test(s[2]) || /^(png|mjpeg|jpeg|bmp|gif|webp|tiff)\b/i.test(s[2])) hasArtwork = true;
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
  if (!audio) return { durationSeconds: parseDuration(stderr) ?? 0, sampleRate: 0, channels: 0, codec: '', tags, hasArtwork, audioStreams: 0 };
  return {
    durationSeconds: parseDuration(stderr) ?? 0,
    sampleRate: audio.sampleRate,
    channels: audio.channels,
    codec: audio.codec,
    tags,
    hasArtwork,
    audioStreams,
  };
}

/** Reads a file's audio properties and tags. Throws StemdeckError for missing / non-audio files. */
export async function probeAudio(file: string): Promise<AudioInfo> {
  checkInput(file);
  const { stderr } = await run(['-hide_banner', '-nostdin', '-i', ffmpegPath(file)]);
  const info = parseFfmpegInfo(stderr);
  if (!info) {
    if (/Invalid data found|could not find codec parameters|moov atom not found|End of file/i.test(stderr))
      throw new StemdeckError(
        'input-not-audio',
        `"${file}" is not an audio file ffmpeg can read (or it is damaged). Pick an audio or video file with sound.`,
      );
    throw new StemdeckError('input-corrupt', `"${file}" could not be read: ${lastLine(stderr)}. Try another copy of the file.`);
  }
  if (info.audioStreams === 0)
    throw new StemdeckError('input-not-audio', `"${file}" has no audio stream. Pick a file with sound.`);
  return info;
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
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 100_000) stderr += d;
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
      total += frames;
      yield planar;
    }
    finished = true;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!finished && child.exitCode === null) child.kill('SIGKILL');
  }
  if (opts.signal?.aborted) throw new StemdeckError('cancelled', 'Cancelled.');
  const code = await exited;
  if (code !== 0 || total === 0) throw decodeError(file, stderr, code, total);
}

function decodeError(file: string, stderr: string, code: number | null, frames: number): StemdeckError {
  if (/Stream map '0:a:\d+' matches no streams|does not contain any stream|matches no streams/i.test(stderr))
    return new StemdeckError('input-not-audio', `"${file}" has no audio stream. Pick a file with sound.`);
  if (/Invalid data found when processing input|could not find codec parameters|Invalid argument/i.test(stderr) && frames === 0)
    return new StemdeckError(
      'input-not-audio',
      `"${file}" is not an audio file ffmpeg can read (or it is damaged). Pick an audio or video file with sound.`,
    );
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
