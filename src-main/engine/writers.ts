/**
 * The audio output module: every audio file Stemdeck writes (stems, exports, drag-out files) goes
 * through a StemWriter made here. Audio arrives as planar chunks `Float32Array[]` =
 * [channels][frames] at `sampleRate`.
 * - WAV (32-bit float, 24- and 16-bit PCM): our own streaming writer (samples and header from
 *   output/wav.ts), header patched at the end (RF64 when the file passes RIFF's 4 GiB, about
 *   3 h 22 min of 32-bit float stereo at 44.1 kHz).
 * - FLAC (16/24) and MP3 (320 kbit/s CBR, V0 VBR): encoded by ffmpeg from an f32le pipe.
 * - Metadata (output/wav-metadata.ts): WAVs made with a StemMetadata carry a `bext` description and,
 *   once the tempo is known, an `acid` chunk (tempo, root note), in a fixed-size block before the
 *   samples, so `updateMetadata` may fill in what the stream learnt until `finish`; FLAC and MP3 get
 *   BPM and key tags: ffmpeg writes its tags when it starts, so those learnt later are added by
 *   `finish` through a stream-copy remux (output/retag.ts) of the temp file.
 * Every writer writes a hidden temp file `.<name>.<token>.part` in the target folder (swept by
 * removeStaleTempFiles once its writer is gone); `finish` fsyncs it, `commit` renames it into place
 * and fsyncs the folder, `abort` deletes it, so a failed or cancelled job leaves nothing that looks
 * finished and a crash after a commit leaves the whole file.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { z } from 'zod';
import { fsErrorReason, StemdeckError, type StemdeckWarning } from './errors.js';
import { locateFfmpeg } from './ffmpeg.js';
import { makeDirs } from './make-dirs.js';
import { ffmpegPath } from './decode.js';
import { cutToLength, NAME_MAX, TEMP_AFFIX_MAX } from './output/file-names.js';
import { isStale, newToken, releaseToken, TOKEN_PATTERN } from './output/temp-tokens.js';
import { buildWavHeader, encodeSamples, type WavSampleFormat } from './output/wav.js';
import { formatBpm, metadataChunks, parseKeyName, type StemMetadata } from './output/wav-metadata.js';
import { PITCH_NAMES } from './analysis/key.js';
import { fsyncDir } from './output/atomic.js';
import { remuxWithTags } from './output/retag.js';

/** Every audio format Stemdeck writes ('wav' is 32-bit float; the app's API calls it 'wav32f'). */
export const OutputFormatSchema = z.enum(['wav', 'wav16', 'wav24', 'flac', 'flac16', 'mp3', 'mp3-v0']);
export type OutputFormat = z.infer<typeof OutputFormatSchema>;

/** The app API's audio format names (export, drag-out, library) → OutputFormat. */
export function outputFormatOf(format: 'wav16' | 'wav24' | 'wav32f' | 'flac' | 'mp3'): OutputFormat {
  return format === 'wav32f' ? 'wav' : format;
}

/** ffmpeg's codec arguments of the formats it encodes. */
const FFMPEG_CODEC: Record<Exclude<OutputFormat, 'wav' | 'wav16' | 'wav24'>, string[]> = {
  flac: ['-c:a', 'flac', '-sample_fmt', 's32', '-bits_per_raw_sample', '24', '-f', 'flac'],
  flac16: ['-c:a', 'flac', '-sample_fmt', 's16', '-f', 'flac'],
  mp3: ['-c:a', 'libmp3lame', '-b:a', '320k', '-f', 'mp3'],
  'mp3-v0': ['-c:a', 'libmp3lame', '-q:a', '0', '-f', 'mp3'],
};

export function extensionOf(format: OutputFormat): 'wav' | 'flac' | 'mp3' {
  if (format.startsWith('wav')) return 'wav';
  if (format.startsWith('flac')) return 'flac';
  return 'mp3';
}

export function fsError(e: unknown, target: string): StemdeckError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof StemdeckError) return e;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new StemdeckError('disk-full', `The disk is full while writing "${target}". Free some space and try again.`, {
      cause: e,
    });
  if (code === 'ENAMETOOLONG')
    return new StemdeckError('output-unwritable', `The name "${path.basename(target)}" is too long for this file system. Use a shorter file or folder name.`, {
      cause: e,
    });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'ENOENT' || code === 'EEXIST' || code === 'EISDIR')
    return new StemdeckError(
      'output-unwritable',
      `Cannot write to "${target}": ${fsErrorReason(e)}. Choose an output folder you can write to.`,
      { cause: e },
    );
  return new StemdeckError('internal', `Writing "${target}" failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** Makes sure `dir` exists and is writable; throws 'output-unwritable'. */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir);
    const probe = path.join(dir, `.stemdeck-probe-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    await fsp.writeFile(probe, '');
    await fsp.rm(probe, { force: true });
  } catch (e) {
    throw fsError(e, dir);
  }
}

/** The tags learnt late that `finish` could not add to a FLAC/MP3 file (it is complete without them). */
export interface MissingTags {
  /** Tag names, e.g. BPM, INITIALKEY. */
  tags: string[];
  /** Why adding them failed. */
  reason: string;
}

/**
 * The job's warning about its `files` (names) that lack their late tags: one for the job, however
 * many stems failed alike (a shell lists a job's warnings by code).
 */
export function missingTagsWarning(files: string[], missing: MissingTags): StemdeckWarning {
  const one = files.length === 1;
  return {
    code: 'output-tags-missing',
    message: `${files.map((f) => `"${f}"`).join(', ')} ${one ? 'is' : 'are'} complete but ${one ? 'has' : 'have'} no ${missing.tags.join('/')} tag: adding it failed (${missing.reason}). Tag ${one ? 'it' : 'them'} in your music library or DAW if you need it.`,
  };
}

export interface StemWriter {
  readonly target: string;
  readonly tempPath: string;
  /** Set by `finish` when the late tags could not be added (FLAC/MP3); the caller warns (missingTagsWarning). */
  readonly missingTags: MissingTags | null;
  write(planar: Float32Array[]): Promise<void>;
  /**
   * Adds to the file's metadata what was learnt while writing (the tempo and key of a separation).
   * WAV: written by `finish`, if the writer was made with metadata (which reserves the room);
   * FLAC/MP3: BPM and key tags, given to the encoder, or once it has started added by `finish`
   * (a failure there only sets `missingTags`: the file is complete without them).
   */
  updateMetadata(patch: Partial<StemMetadata>): void;
  /** Finishes the temp file (header, encoder flush). Does not rename. */
  finish(): Promise<void>;
  /** Renames the finished temp file to its target. */
  commit(): Promise<void>;
  /** Deletes the temp file; safe to call at any time and more than once. */
  abort(): Promise<void>;
}

const TEMP_RE = new RegExp(`^\\..+\\.${TOKEN_PATTERN}\\.part$`);

/**
 * Removes temp files left in `dir` by writers that are gone (a killed engine host or CLI);
 * files of live writers (a job still running) are kept. Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m || !isStale(m[1])) continue;
    await fsp.rm(path.join(dir, name), { force: true }).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

/** `.<target name>.<token>.part` beside the target; the name is cut so that it stays within NAME_MAX. */
function tempFor(target: string): { path: string; token: string } {
  const token = newToken();
  const name = cutToLength(path.basename(target), NAME_MAX - TEMP_AFFIX_MAX);
  return { path: path.join(path.dirname(target), `.${name}.${token}.part`), token };
}

class WavWriter implements StemWriter {
  readonly tempPath: string;
  /** Its metadata is patched in place; a failure there fails the file. */
  readonly missingTags = null;
  private readonly token: string;
  private fd: fsp.FileHandle | null = null;
  private dataBytes = 0;
  private headerBytes = 0;
  private done = false;

  constructor(
    readonly target: string,
    private readonly channels: number,
    private readonly sampleRate: number,
    private readonly format: WavSampleFormat,
    /** When given (even empty), the header holds the metadata block (bext + acid/JUNK). */
    private metadata: StemMetadata | null = null,
  ) {
    ({ path: this.tempPath, token: this.token } = tempFor(target));
  }

  updateMetadata(patch: Partial<StemMetadata>): void {
    if (!this.metadata) throw new Error(`internal: the writer of "${this.target}" was made without metadata`);
    this.metadata = { ...this.metadata, ...patch };
  }

  /**
   * Same length for every size and any metadata (a JUNK chunk stands where RF64's ds64 goes, the
   * metadata block has one size), so it is patched in place at the end.
   */
  private header(dataBytes: number): Buffer {
    const bits = this.format === 'wav16' ? 16 : this.format === 'wav24' ? 24 : 32;
    const frames = Math.floor(dataBytes / ((bits / 8) * this.channels));
    const chunks = this.metadata ? metadataChunks(this.metadata, frames, this.sampleRate) : undefined;
    return buildWavHeader({ sampleRate: this.sampleRate, channels: this.channels, bits, float: this.format === 'wav32f' }, dataBytes, { reserveDs64: true, chunks });
  }

  private async open(): Promise<fsp.FileHandle> {
    if (this.fd) return this.fd;
    try {
      this.fd = await fsp.open(this.tempPath, 'w');
      const h = this.header(0);
      this.headerBytes = h.length;
      await this.fd.write(h, 0, h.length, 0);
    } catch (e) {
      throw fsError(e, this.target);
    }
    return this.fd;
  }

  async write(planar: Float32Array[]): Promise<void> {
    const fd = await this.open();
    if (planar[0].length === 0) return;
    const buf = encodeSamples(this.format, planar);
    try {
      const { bytesWritten } = await fd.write(buf, 0, buf.length, this.headerBytes + this.dataBytes);
      // write(2) may write part of the buffer when the disk fills up, without an error.
      if (bytesWritten !== buf.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    } catch (e) {
      throw fsError(e, this.target);
    }
    this.dataBytes += buf.length;
  }

  async finish(): Promise<void> {
    const fd = await this.open();
    try {
      if (this.dataBytes % 2) await fd.write(Buffer.alloc(1), 0, 1, this.headerBytes + this.dataBytes);
      const h = this.header(this.dataBytes);
      await fd.write(h, 0, h.length, 0);
      await fd.sync();
      await fd.close();
      this.fd = null;
      this.done = true;
    } catch (e) {
      throw fsError(e, this.target);
    }
  }

  async commit(): Promise<void> {
    if (!this.done) await this.finish();
    await commitTemp(this.tempPath, this.target);
    releaseToken(this.token);
  }

  async abort(): Promise<void> {
    if (this.fd) {
      await this.fd.close().catch(() => undefined);
      this.fd = null;
    }
    await fsp.rm(this.tempPath, { force: true }).catch(() => undefined);
    releaseToken(this.token);
  }
}

/** Renames a finished temp file to its target and fsyncs the folder (the rename itself is durable). */
async function commitTemp(tempPath: string, target: string): Promise<void> {
  try {
    await fsp.rename(tempPath, target);
  } catch (e) {
    throw fsError(e, target);
  }
  await fsyncDir(path.dirname(target));
}

/** How an encoder child ended: its exit code, or the signal that killed it, or why it never ran. */
interface EncoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
}

class FfmpegWriter implements StemWriter {
  readonly tempPath: string;
  missingTags: MissingTags | null = null;
  private readonly token: string;
  private child: ChildProcessWithoutNullStreams | null = null;
  /** Set once the child has gone ('close' or 'error'); `exited` resolves with it. */
  private exit: EncoderExit | null = null;
  private exited: Promise<EncoderExit> | null = null;
  private stderr = '';
  private done = false;
  private aborted = false;
  /** Tags learnt after the encoder started (it wrote `tags` already): added by `finish`. */
  private lateTags: Record<string, string> = {};

  constructor(
    readonly target: string,
    private readonly channels: number,
    private readonly sampleRate: number,
    private readonly format: keyof typeof FFMPEG_CODEC,
    private tags: Record<string, string | undefined> = {},
  ) {
    ({ path: this.tempPath, token: this.token } = tempFor(target));
  }

  updateMetadata(patch: Partial<StemMetadata>): void {
    const tags = musicTags(this.format, patch);
    if (!this.child) this.tags = { ...this.tags, ...tags };
    else for (const [k, v] of Object.entries(tags)) if (v && v !== this.tags[k]) this.lateTags[k] = v;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const { path: ffmpeg } = locateFfmpeg();
    const meta = Object.entries(this.tags).flatMap(([k, v]) => (v ? ['-metadata', `${k}=${v}`] : []));
    const args = [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-f',
      'f32le',
      '-ar',
      String(this.sampleRate),
      '-ac',
      String(this.channels),
      '-i',
      'pipe:0',
      ...meta,
      ...FFMPEG_CODEC[this.format],
      '-y',
      ffmpegPath(this.tempPath),
    ];
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (this.stderr.length < 50_000) this.stderr += d;
    });
    child.stdin.on('error', () => undefined); // EPIPE when the encoder died: reported through `exit`
    // Listeners are attached here, at spawn, and the outcome is kept: whoever waits later reads
    // `exit` or awaits `exited`, so a 'close' that fired before anyone waited is never missed.
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
      child.once('error', (e) => {
        this.exit ??= { code: null, signal: null, spawnError: e };
        resolve(this.exit);
      });
    });
    this.child = child;
    return child;
  }

  async write(planar: Float32Array[]): Promise<void> {
    const child = this.start();
    if (planar[0].length === 0) return;
    if (this.exit) throw this.failure(this.exit);
    const buf = encodeSamples('wav32f', planar);
    if (!child.stdin.write(buf)) {
      // backpressure: wait for the pipe to drain or for the encoder to go, whichever comes first
      let onDrain: (() => void) | undefined;
      const drained = new Promise<void>((resolve) => {
        onDrain = resolve;
        child.stdin.once('drain', resolve);
      });
      await Promise.race([drained, this.exited]);
      child.stdin.off('drain', onDrain!);
    }
    // an encoder that exits (even with 0) before its input ended has failed
    if (this.exit) throw this.failure(this.exit);
  }

  private failure(exit: EncoderExit): StemdeckError {
    const what = `Encoding "${path.basename(this.target)}" (${this.format})`;
    if (exit.spawnError)
      return new StemdeckError('ffmpeg-missing', `${what} failed: ffmpeg could not be started (${exit.spawnError.message}). Run \`stemdeck doctor\`.`, {
        cause: exit.spawnError,
      });
    if (exit.signal)
      return new StemdeckError(
        'internal',
        `${what} failed: the ffmpeg encoder was killed (${exit.signal}), e.g. by the system running out of memory or by another program. Try again.`,
      );
    if (/No space left/i.test(this.stderr))
      return new StemdeckError('disk-full', `The disk is full while writing "${this.target}". Free some space and try again.`);
    if (/Permission denied|Read-only|No such file or directory|Not a directory/i.test(this.stderr))
      return new StemdeckError('output-unwritable', `Cannot write "${this.target}". Choose an output folder you can write to.`);
    const last = this.stderr.trim().split('\n').pop();
    return new StemdeckError('internal', `${what} failed: ffmpeg ${last ? `said "${last}"` : `exited with code ${exit.code}`}. Try again.`);
  }

  async finish(): Promise<void> {
    const child = this.start();
    child.stdin.end();
    const exit = await this.exited!;
    if (exit.code !== 0 || exit.signal || exit.spawnError) throw this.failure(exit);
    if (Object.keys(this.lateTags).length) await this.addLateTags();
    try {
      const fh = await fsp.open(this.tempPath, 'r+');
      await fh.sync().finally(() => fh.close());
    } catch (e) {
      throw fsError(e, this.target);
    }
    this.done = true;
  }

  /**
   * Adds `lateTags` to the finished temp file: a tagged copy (a temp file of its own beside it)
   * replaces it. Never throws: a file without them is still a complete stem, so a failure only
   * sets `missingTags`, for the job's warnings.
   */
  private async addLateTags(): Promise<void> {
    const { path: tagged, token } = tempFor(this.target);
    try {
      await remuxWithTags(this.tempPath, tagged, this.format.startsWith('mp3') ? 'mp3' : 'flac', this.lateTags);
      await fsp.rename(tagged, this.tempPath);
      this.tags = { ...this.tags, ...this.lateTags };
      this.lateTags = {};
    } catch (e) {
      await fsp.rm(tagged, { force: true }).catch(() => undefined);
      this.missingTags = { tags: Object.keys(this.lateTags), reason: (e as Error)?.message ?? String(e) };
    } finally {
      releaseToken(token);
    }
  }

  async commit(): Promise<void> {
    if (!this.done) await this.finish();
    await commitTemp(this.tempPath, this.target);
    releaseToken(this.token);
  }

  async abort(): Promise<void> {
    if (this.child && !this.exit && !this.aborted) {
      this.aborted = true;
      this.child.kill('SIGKILL');
    }
    if (this.exited) await this.exited;
    await fsp.rm(this.tempPath, { force: true }).catch(() => undefined);
    releaseToken(this.token);
  }
}

/** ID3 TKEY / Vorbis INITIALKEY notation of a key name: "A minor" → "Am", "Eb major" → "Eb". */
function shortKey(name: string): string | undefined {
  const k = parseKeyName(name);
  return k ? `${PITCH_NAMES[k.tonic]}${k.mode === 'minor' ? 'm' : ''}` : undefined;
}

/** The BPM and key tags of an ffmpeg-encoded format (ID3v2 frames for MP3, Vorbis comments for FLAC). */
function musicTags(format: keyof typeof FFMPEG_CODEC, meta: Partial<StemMetadata>): Record<string, string | undefined> {
  const mp3 = format.startsWith('mp3');
  const out: Record<string, string | undefined> = {};
  // ID3's TBPM is a whole number
  if (meta.tempo) out[mp3 ? 'TBPM' : 'BPM'] = mp3 ? String(Math.round(meta.tempo)) : formatBpm(meta.tempo);
  if (meta.key) out[mp3 ? 'TKEY' : 'INITIALKEY'] = shortKey(meta.key);
  return out;
}

export function createStemWriter(
  target: string,
  channels: number,
  sampleRate: number,
  format: OutputFormat,
  /** Metadata tags (title, artist, album) of the formats that carry them (FLAC, MP3). */
  tags: Record<string, string | undefined> = {},
  /** DAW metadata (wav-metadata.ts): a WAV made with it carries bext (+ acid once the tempo is known). */
  metadata?: StemMetadata,
): StemWriter {
  switch (format) {
    case 'wav':
      return new WavWriter(target, channels, sampleRate, 'wav32f', metadata ?? null);
    case 'wav24':
      return new WavWriter(target, channels, sampleRate, 'wav24', metadata ?? null);
    case 'wav16':
      return new WavWriter(target, channels, sampleRate, 'wav16', metadata ?? null);
    default:
      return new FfmpegWriter(target, channels, sampleRate, format, { ...tags, ...(metadata ? musicTags(format, metadata) : {}) });
  }
}

/**
 * Writes streamed planar chunks to `file` (temp + fsync + rename), exactly `frames` long (cut, or
 * padded with silence); returns the file's size. Exports and drag-out files.
 */
export async function writeChunks(
  file: string,
  format: OutputFormat,
  sampleRate: number,
  channels: number,
  frames: number,
  chunks: AsyncIterable<Float32Array[]>,
  tags: Record<string, string | undefined> = {},
  signal?: AbortSignal,
  metadata?: StemMetadata,
): Promise<number> {
  const w = createStemWriter(file, channels, sampleRate, format, tags, metadata);
  try {
    let written = 0;
    for await (const c of chunks) {
      if (signal?.aborted) throw new StemdeckError('cancelled', 'Export cancelled.');
      const n = Math.min(c[0].length, frames - written);
      if (n <= 0) break;
      await w.write(n === c[0].length ? c : c.map((ch) => ch.subarray(0, n)));
      written += n;
    }
    for (const step = 1 << 15; written < frames; written += step) {
      const n = Math.min(step, frames - written);
      await w.write(Array.from({ length: channels }, () => new Float32Array(n)));
    }
    if (signal?.aborted) throw new StemdeckError('cancelled', 'Export cancelled.');
    await w.finish();
    await w.commit();
  } catch (e) {
    await w.abort();
    throw fsError(e, file);
  }
  return (await fsp.stat(file)).size;
}

/** Writes a whole planar signal to `file` atomically (temp file + rename). */
export async function writeAudio(
  file: string,
  planar: Float32Array[],
  sampleRate: number,
  format: OutputFormat,
  metadata?: StemMetadata,
): Promise<void> {
  await ensureWritableDir(path.dirname(path.resolve(file)));
  const w = createStemWriter(path.resolve(file), planar.length, sampleRate, format, {}, metadata);
  try {
    const n = planar[0]?.length ?? 0;
    const step = 1 << 16;
    for (let o = 0; o < n; o += step) await w.write(planar.map((p) => p.subarray(o, Math.min(n, o + step))));
    await w.finish();
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** True if a file exists (used by callers that must not overwrite). */
export function exists(file: string): boolean {
  return fs.existsSync(file);
}
