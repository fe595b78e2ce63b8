/**
 * Export of a separated song: chosen stems and/or a mixdown of a mixer state, as WAV 16/24/32f,
 * FLAC (24-bit), MP3 (320k) or NI Stems (.stem.mp4). Streams in chunks: memory stays O(chunk).
 *
 * The mixdown uses the one gain/pan law of the mixer (src-main/shared/mix-law.ts, `mixdown`), so an
 * exported mix equals what the renderer plays. Presets (a cappella, bassless, …) and NI Stems are
 * made from the canonical stems (unity gain, centre, master 0 dB), never from the mixer's state:
 * only the "current mix" (`mixdown: true`) follows the mixer.
 *
 * Levels above full scale: 32-bit float keeps them (nothing is clipped); integer formats, FLAC and
 * MP3 clip them, so every file reports its peak and how many samples were clipped, and
 * `normalize` scales mixdowns so that their peak sits at NORMALIZE_PEAK (−0.1 dBFS) instead.
 *
 * NI Stems (Traktor, Mixxx …): an MP4 with five AAC tracks — 0 the master (mixdown), 1…4 the stems
 * in the order drums, bass, other, vocals — and a `moov/udta/stem` box holding the stem JSON
 * (names, colours, mastering DSP), as NI's Stem Creator writes it. Only track 0 is enabled, so
 * ordinary players play the mix.
 *
 * DAW metadata: WAV files carry the song's tempo and key (acid) and a bext description
 * ("Stemdeck: Vocals, 120 BPM, A minor, model …"), FLAC/MP3 BPM and key tags (writers.ts). File
 * names are "<title> - Vocals.wav", "<title> (Mix).wav", or what `namePattern` makes of them
 * (output/name-pattern.ts; {stem} is "Mix" or the preset's name for mixdowns).
 *
 * Audio: planar Float32Array[] = [channels][frames] at the stems' sample rate (44.1 kHz).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { applyPreset, defaultMix, mixdown, presetStems, type MixPreset, type MixState } from '../shared/mix-law.js';
import { readWavChunks, readWavInfo, type WavSampleFormat } from './output/wav.js';
import { fsyncDir } from './output/atomic.js';
import { locateFfmpeg } from './ffmpeg.js';
import { ffmpegPath } from './decode.js';
import { StemdeckError } from './errors.js';
import { fileNameWithSuffix, nameLength, safeFileName } from './output/file-names.js';
import { isStale, newToken, releaseToken, TOKEN_PATTERN } from './output/temp-tokens.js';
import { extensionOf, fsError, outputFormatOf, removeStaleTempFiles, writeChunks } from './writers.js';
import { patternFileName, stemLabel, type NamePattern } from './output/name-pattern.js';
import type { StemMetadata } from './output/wav-metadata.js';

export type AudioExportFormat = WavSampleFormat | 'flac' | 'mp3';
export type ExportFormatName = AudioExportFormat | 'ni-stems';

export interface StemFile {
  name: string;
  /** WAV file (as written by the engine). */
  file: string;
}

export interface ExportOptions {
  stems: StemFile[];
  title: string;
  tags?: { title?: string; artist?: string; album?: string };
  /** Stems to write as individual files. */
  select: string[];
  mixdown: boolean;
  preset: Exclude<MixPreset, 'all'> | null;
  mixer: MixState;
  format: ExportFormatName;
  outDir: string;
  /** Scale mixdowns (preset or current mix) so that their peak is NORMALIZE_PEAK: no clipping. */
  normalize?: boolean;
  signal?: AbortSignal;
  /** The song's tempo (BPM) and key ("A minor"), null when unknown: into the files' metadata and names. */
  music?: { tempo: number | null; key: string | null };
  /** The model that separated the song (its id), for the metadata and the {model} token. */
  model?: string;
  /** File names from a pattern instead of "<title> - Vocals" / "<title> (Mix)". */
  namePattern?: NamePattern | null;
}

/** Where `normalize` puts a mixdown's peak: −0.1 dBFS, linear. */
export const NORMALIZE_PEAK = 10 ** (-0.1 / 20);

export interface ExportedFile {
  kind: 'stem' | 'mixdown' | 'ni-stems';
  stem: string | null;
  path: string;
  name: string;
  bytes: number;
  /** Largest |sample| written, linear (above 1.0: over full scale). */
  peak: number;
  /** Samples over full scale that the format clipped (always 0 for 32-bit float, which keeps them). */
  clipped: number;
  /** Gain applied by `normalize` (1 when none). */
  gain: number;
}

const CHUNK = 1 << 15;

/** The file name ending of an export format (with its dot). */
function exportExtension(format: ExportFormatName): string {
  return format === 'ni-stems' ? '.stem.mp4' : `.${extensionOf(outputFormatOf(format))}`;
}

const PRESET_SUFFIX: Record<Exclude<MixPreset, 'all'>, string> = {
  instrumental: 'Instrumental',
  acappella: 'A cappella',
  drumless: 'Drumless',
  bassless: 'Bassless',
};

/** Lockstep chunks of several WAV files; shorter files are zero-padded. Yields planar chunks per file. */
async function* lockstep(files: string[], frames: number): AsyncGenerator<Float32Array[][]> {
  const its = files.map((f) => readWavChunks(f, CHUNK));
  let pos = 0;
  while (pos < frames) {
    const n = Math.min(CHUNK, frames - pos);
    const chunks = await Promise.all(
      its.map(async (it) => {
        const r = await it.next();
        if (r.done) return [new Float32Array(n), new Float32Array(n)];
        const c = r.value;
        if (c[0].length === n) return c;
        return c.map((ch) => {
          const out = new Float32Array(n);
          out.set(ch.subarray(0, n));
          return out;
        });
      }),
    );
    yield chunks;
    pos += n;
  }
  await Promise.all(its.map((it) => it.return(undefined)));
}

async function maxFrames(files: string[]): Promise<{ frames: number; sampleRate: number }> {
  const infos = await Promise.all(files.map((f) => readWavInfo(f)));
  return { frames: Math.max(0, ...infos.map((i) => i.frames)), sampleRate: infos[0]?.sampleRate ?? 44100 };
}

/** Streams a mixdown of `stems` under `mix` (planar stereo chunks). */
export async function* mixdownChunks(stems: StemFile[], mix: MixState): AsyncGenerator<Float32Array[]> {
  const { frames } = await maxFrames(stems.map((s) => s.file));
  for await (const chunks of lockstep(
    stems.map((s) => s.file),
    frames,
  )) {
    yield mixdown(
      stems.map((s, i) => ({ stem: s.name, audio: chunks[i] })),
      mix,
    );
  }
}

/** Peak and over-full-scale count of the samples that passed through `measured`. */
export interface LevelStats {
  peak: number;
  over: number;
}

/** Passes chunks through unchanged, recording their peak and how many samples are over full scale (|x| > 1). */
export async function* measured(chunks: AsyncIterable<Float32Array[]>, stats: LevelStats): AsyncGenerator<Float32Array[]> {
  for await (const c of chunks) {
    let peak = stats.peak;
    let over = 0;
    for (const ch of c)
      for (let i = 0; i < ch.length; i++) {
        const a = Math.abs(ch[i]);
        if (a > peak) peak = a;
        if (a > 1) over++;
      }
    stats.peak = peak;
    stats.over += over;
    yield c;
  }
}

async function* scaled(chunks: AsyncIterable<Float32Array[]>, gain: number): AsyncGenerator<Float32Array[]> {
  for await (const c of chunks) {
    if (gain !== 1) for (const ch of c) for (let i = 0; i < ch.length; i++) ch[i] *= gain;
    yield c;
  }
}

/** The peak of a whole mixdown (a first pass for `normalize`), linear. */
async function mixdownPeak(stems: StemFile[], mix: MixState, signal?: AbortSignal): Promise<number> {
  const stats = { peak: 0, over: 0 };
  for await (const _ of measured(mixdownChunks(stems, mix), stats)) if (signal?.aborted) throw new StemdeckError('cancelled', 'Export cancelled.');
  return stats.peak;
}

/** Runs ffmpeg over files (the NI Stems mux); cancelled by `signal`. */
async function runFfmpeg(args: string[], signal?: AbortSignal): Promise<void> {
  const ffmpeg = locateFfmpeg().path;
  const p = spawn(ffmpeg, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const onAbort = () => p.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort);
  try {
    const [code, killedBy] = (await once(p, 'close')) as [number | null, NodeJS.Signals | null];
    if (signal?.aborted) throw new StemdeckError('cancelled', 'Export cancelled.');
    if (killedBy)
      throw new StemdeckError('internal', `The ffmpeg encoder was killed (${killedBy}), e.g. by the system running out of memory or by another program. Export again.`);
    if (code !== 0) {
      if (/No space left/i.test(stderr)) throw new StemdeckError('disk-full', 'The disk is full. Free some space and export again.');
      throw new StemdeckError('internal', `ffmpeg could not encode the export: ${stderr.trim().split('\n').pop() ?? `exit ${code}`}`);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** NI Stems groups, in NI's track order. Unknown stems go to "other". */
export function niGroups(stems: string[]): { name: string; color: string; stems: string[] }[] {
  const vocals = stems.filter((s) => s.startsWith('vocal'));
  const drums: string[] = stems.filter((s) => s === 'drums');
  const bass: string[] = stems.filter((s) => s === 'bass');
  const other = stems.filter((s) => !vocals.includes(s) && !drums.includes(s) && !bass.includes(s));
  return [
    { name: 'Drums', color: '#009E73', stems: drums },
    { name: 'Bass', color: '#D55E00', stems: bass },
    { name: 'Other', color: '#CC79A7', stems: other },
    { name: 'Vocals', color: '#56B4E9', stems: vocals },
  ];
}

export function niStemMetadata(groups: { name: string; color: string }[]): object {
  return {
    mastering_dsp: {
      compressor: { enabled: false, input_gain: 0.5, output_gain: 0.5, threshold: 0, dry_wet: 100, attack: 0.003, release: 0.3, ratio: 32, hp_cutoff: 300 },
      limiter: { enabled: false, threshold: 0, ceiling: -0.35, release: 0.05 },
    },
    stems: groups.map((g) => ({ color: g.color, name: g.name })),
    version: 1,
  };
}

function box(type: string, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + payload.length, 0);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, payload]);
}

interface BoxRef {
  type: string;
  start: number;
  size: number;
  header: number;
}

function readBoxes(buf: Buffer, start: number, end: number): BoxRef[] {
  const out: BoxRef[] = [];
  let off = start;
  while (off + 8 <= end) {
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(off + 8));
      header = 16;
    } else if (size === 0) size = end - off;
    if (size < header || off + size > end) break;
    out.push({ type, start: off, size, header });
    off += size;
  }
  return out;
}

/**
 * Adds `moov/udta/stem` (JSON) to an MP4 file in place: the old moov box becomes a `free` box and
 * the new moov (same children + the stem box) is appended at the end of the file. Chunk offsets
 * stay valid because mdat does not move.
 */
export async function addStemAtom(file: string, json: object): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    const size = (await fh.stat()).size;
    // Walk top-level boxes by reading headers only.
    let off = 0;
    let moov: { start: number; size: number; header: number } | null = null;
    const h = Buffer.alloc(16);
    while (off + 8 <= size) {
      await fh.read(h, 0, 16, off);
      let bsize = h.readUInt32BE(0);
      const type = h.toString('latin1', 4, 8);
      let header = 8;
      if (bsize === 1) {
        bsize = Number(h.readBigUInt64BE(8));
        header = 16;
      } else if (bsize === 0) bsize = size - off;
      if (type === 'moov') moov = { start: off, size: bsize, header };
      off += bsize;
    }
    if (!moov) throw new StemdeckError('internal', 'The NI Stems file has no moov box.');
    const moovBuf = Buffer.alloc(moov.size);
    await fh.read(moovBuf, 0, moov.size, moov.start);
    const children = readBoxes(moovBuf, moov.header, moov.size);
    const stemBox = box('stem', Buffer.from(JSON.stringify(json), 'utf8'));
    const parts: Buffer[] = [];
    let hadUdta = false;
    for (const c of children) {
      const bytes = moovBuf.subarray(c.start, c.start + c.size);
      if (c.type === 'udta' && !hadUdta) {
        hadUdta = true;
        const inner = readBoxes(bytes, c.header, c.size).filter((b) => b.type !== 'stem');
        parts.push(box('udta', Buffer.concat([...inner.map((b) => bytes.subarray(b.start, b.start + b.size)), stemBox])));
      } else parts.push(bytes);
    }
    if (!hadUdta) parts.push(box('udta', stemBox));
    const newMoov = box('moov', Buffer.concat(parts));
    // Old moov → free (keeps its size, so every other offset stays).
    const free = Buffer.from('free', 'latin1');
    await fh.write(free, 0, 4, moov.start + 4);
    await fh.write(newMoov, 0, newMoov.length, size);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Reads `moov/udta/stem` back (for tests and import). */
export async function readStemAtom(file: string): Promise<unknown> {
  const buf = await fs.readFile(file);
  for (const top of readBoxes(buf, 0, buf.length)) {
    if (top.type !== 'moov') continue;
    for (const c of readBoxes(buf, top.start + top.header, top.start + top.size)) {
      if (c.type !== 'udta') continue;
      for (const s of readBoxes(buf, c.start + c.header, c.start + c.size))
        if (s.type === 'stem') return JSON.parse(buf.toString('utf8', s.start + s.header, s.start + s.size));
    }
  }
  return null;
}

async function writeNiStems(o: ExportOptions, name: string): Promise<ExportedFile> {
  const all = o.stems.map((s) => s.name);
  const groups = niGroups(all);
  const { frames, sampleRate } = await maxFrames(o.stems.map((s) => s.file));
  const token = newToken();
  const tmpDir = path.join(o.outDir, `.ni-${token}`);
  await fs.mkdir(tmpDir);
  const out = path.join(o.outDir, name);
  const tmpOut = path.join(tmpDir, 'out.mp4');
  try {
    // the canonical stems (unity gain, centre): a DJ's deck needs every stem whatever the mixer says
    const canonical = defaultMix(all);
    const stats = { peak: 0, over: 0 };
    const master = path.join(tmpDir, 'master.wav');
    await writeChunks(master, 'wav', sampleRate, 2, frames, measured(mixdownChunks(o.stems, canonical), stats), {}, o.signal);
    const groupFiles: string[] = [];
    for (const [i, g] of groups.entries()) {
      const f = path.join(tmpDir, `g${i}.wav`);
      const members = o.stems.filter((s) => g.stems.includes(s.name));
      const chunks = members.length ? mixdownChunks(members, canonical) : silence(frames);
      await writeChunks(f, 'wav', sampleRate, 2, frames, measured(chunks, stats), {}, o.signal);
      groupFiles.push(f);
    }
    const inputs = [master, ...groupFiles].flatMap((f) => ['-i', ffmpegPath(f)]);
    const maps = [0, 1, 2, 3, 4].flatMap((i) => ['-map', `${i}:a`]);
    const disp = [0, 1, 2, 3, 4].flatMap((i) => [`-disposition:a:${i}`, i === 0 ? 'default' : '0']);
    const tags = o.tags ?? {};
    const meta = [
      ...(tags.title || o.title ? ['-metadata', `title=${tags.title ?? o.title}`] : []),
      ...(tags.artist ? ['-metadata', `artist=${tags.artist}`] : []),
      ...(tags.album ? ['-metadata', `album=${tags.album}`] : []),
      ...groups.flatMap((g, i) => [`-metadata:s:a:${i + 1}`, `handler_name=${g.name}`]),
      '-metadata:s:a:0',
      'handler_name=Master',
    ];
    await runFfmpeg([...inputs, ...maps, '-c:a', 'aac', '-b:a', '256k', ...disp, ...meta, '-f', 'mp4', ffmpegPath(tmpOut)], o.signal);
    await addStemAtom(tmpOut, niStemMetadata(groups));
    await fs.rename(tmpOut, out);
    await fsyncDir(o.outDir);
    // AAC decoders clip what is over full scale
    return { kind: 'ni-stems', stem: null, path: out, name, bytes: (await fs.stat(out)).size, peak: stats.peak, clipped: stats.over, gain: 1 };
  } catch (e) {
    throw fsError(e, out);
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
    releaseToken(token);
  }
}

const NI_TEMP = new RegExp(`^\\.ni-${TOKEN_PATTERN}$`);

/**
 * Removes what exports that were killed left in `dir` and in its sub-folders (the app's export
 * folders): temp files and NI Stems work folders of writers that are gone. Returns the names removed.
 */
export async function sweepExportLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async (d: string, depth: number): Promise<void> => {
    removed.push(...(await removeStaleTempFiles(d)));
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory()) continue;
      const m = NI_TEMP.exec(e.name);
      if (m && isStale(m[1])) {
        await fs.rm(path.join(d, e.name), { recursive: true, force: true }).catch(() => undefined);
        removed.push(e.name);
      } else if (depth > 0 && !e.name.startsWith('.')) await sweep(path.join(d, e.name), depth - 1);
    }
  };
  await sweep(dir, 1);
  return removed;
}

async function* silence(frames: number): AsyncGenerator<Float32Array[]> {
  for (let pos = 0; pos < frames; pos += CHUNK) {
    const n = Math.min(CHUNK, frames - pos);
    yield [new Float32Array(n), new Float32Array(n)];
  }
}

/** The gain that puts `peak` at NORMALIZE_PEAK (1 for silence: nothing to scale). */
export function normalizeGain(peak: number): number {
  return peak > 0 ? NORMALIZE_PEAK / peak : 1;
}

/** Writes the requested files into `outDir` (which must exist). */
export async function exportSong(o: ExportOptions): Promise<ExportedFile[]> {
  const byName = new Map(o.stems.map((s) => [s.name, s]));
  for (const s of o.select) if (!byName.has(s)) throw new StemdeckError('invalid-request', `The song has no stem "${s}".`);
  if (!o.stems.length) throw new StemdeckError('invalid-request', 'The song has no stems to export.');
  await fs.mkdir(o.outDir, { recursive: true });
  const ext = exportExtension(o.format);
  // every file shares one base name, cut to leave room for the longest suffix
  const suffixes = [
    ...o.select.map((name) => ` - ${stemLabel(name)}${ext}`),
    o.preset ? ` (${PRESET_SUFFIX[o.preset]})${ext}` : '',
    o.mixdown ? ` (Mix)${ext}` : '',
  ];
  const base = safeFileName(o.title, Math.max(0, ...suffixes.map(nameLength)));
  const tempo = o.music?.tempo ?? null;
  const key = o.music?.key ?? null;
  /** A file's name: `defaultName` ("<base> - Vocals.wav"), or the pattern's for `what` ("vocals", "Mix"). */
  const nameOf = (what: string, defaultName: string): string =>
    o.namePattern ? patternFileName(o.namePattern, { song: o.title, stem: what, tempo, key, model: o.model }, ext) : defaultName;
  const metadata = (what: string): StemMetadata => ({ label: stemLabel(what), tempo, key, ...(o.model ? { model: o.model } : {}) });
  const tags = { title: o.tags?.title ?? o.title, artist: o.tags?.artist, album: o.tags?.album };
  const files: ExportedFile[] = [];
  if (o.format === 'ni-stems') {
    files.push(await writeNiStems(o, fileNameWithSuffix(o.title, ext)));
    return files;
  }
  const { frames, sampleRate } = await maxFrames(o.stems.map((s) => s.file));
  const format = outputFormatOf(o.format);
  const clips = format !== 'wav';
  for (const name of o.select) {
    const stem = byName.get(name)!;
    const info = await readWavInfo(stem.file);
    const fileName = nameOf(name, `${base} - ${stemLabel(name)}${ext}`);
    const out = path.join(o.outDir, fileName);
    const stats = { peak: 0, over: 0 };
    const chunks = measured(readWavChunks(stem.file, CHUNK), stats);
    const fileTags = { ...tags, title: `${tags.title} (${name})` };
    const bytes = await writeChunks(out, format, info.sampleRate, info.channels, info.frames, chunks, fileTags, o.signal, metadata(name));
    files.push({ kind: 'stem', stem: name, path: out, name: fileName, bytes, peak: stats.peak, clipped: clips ? stats.over : 0, gain: 1 });
  }
  const all = o.stems.map((s) => s.name);
  const mixdownFile = async (mix: MixState, what: string, fileTags: Record<string, string | undefined>): Promise<void> => {
    const gain = o.normalize ? normalizeGain(await mixdownPeak(o.stems, mix, o.signal)) : 1;
    const fileName = nameOf(what, `${base} (${what})${ext}`);
    const out = path.join(o.outDir, fileName);
    const stats = { peak: 0, over: 0 };
    const chunks = measured(scaled(mixdownChunks(o.stems, mix), gain), stats);
    const bytes = await writeChunks(out, format, sampleRate, 2, frames, chunks, fileTags, o.signal, metadata(what));
    files.push({ kind: 'mixdown', stem: null, path: out, name: fileName, bytes, peak: stats.peak, clipped: clips ? stats.over : 0, gain });
  };
  if (o.preset) {
    if (presetStems(o.preset, all).length === 0)
      throw new StemdeckError('invalid-request', `This song's model has no stems for the "${PRESET_SUFFIX[o.preset]}" preset.`);
    // the canonical stems, not the mixer: a preset is the same file whatever the faders say
    const mix = applyPreset(defaultMix(all), o.preset, all);
    await mixdownFile(mix, PRESET_SUFFIX[o.preset], { ...tags, title: `${tags.title} (${PRESET_SUFFIX[o.preset]})` });
  } else if (o.mixdown) {
    await mixdownFile(o.mixer, 'Mix', tags);
  }
  return files;
}
