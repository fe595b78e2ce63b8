/**
 * The stems sink of a separation: the song's stems are written into a hidden staging folder beside
 * the song folder `outDir` (one writer per stem, writers.ts), and when every stem is complete the
 * staging folder replaces `outDir` as a whole (output/folder-swap.ts). So `outDir` always holds one
 * run's complete set of stems — never new stems beside an older run's — and a failed or cancelled
 * job leaves nothing that looks finished (its staging folder is removed; a killed one is swept by
 * the next job in that parent folder).
 *
 * Stems are `<stem>.<ext>` unless the job names them (a name pattern, output/name-pattern.ts, with
 * the tempo and key known only at the end): then they are renamed inside the staging folder before
 * the swap, and the hidden record `.stemdeck.json` lists them, so that the next run into that
 * folder knows them for its own.
 *
 * Stems are written at the input's sample rate and length when the model ran at another rate
 * (output/input-rate.ts: resampled back by ffmpeg, cut or padded to the input's frame count).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Planar } from './adapters/types.js';
import { StemdeckError, type StemdeckWarning } from './errors.js';
import { checkAbort } from './stream.js';
import { createStaging, discardStaging, replaceFolder, sweepFolderSwaps } from './output/folder-swap.js';
import { releaseToken } from './output/temp-tokens.js';
import { writeJsonAtomic } from './output/atomic.js';
import type { StemMetadata } from './output/wav-metadata.js';
import { ExactLength, FfmpegResampler } from './output/input-rate.js';
import { createStemWriter, ensureWritableDir, extensionOf, missingTagsWarning, removeStaleTempFiles, type OutputFormat, type StemWriter } from './writers.js';

/** Entries of a song folder that a run of Stemdeck may have written (replaced with the folder). */
const OURS = /^(\..*|[a-z][a-z0-9_-]*\.(wav|flac|mp3)|Thumbs\.db|desktop\.ini)$/;

/** The hidden record of a song folder whose stems have names of the job's choosing. */
export const SONG_FOLDER_RECORD = '.stemdeck.json';

/** The stem files a song folder's record lists (none when there is no readable record). */
async function recordedFiles(outDir: string): Promise<Set<string>> {
  try {
    const raw = JSON.parse(await fs.readFile(path.join(outDir, SONG_FOLDER_RECORD), 'utf8')) as { stems?: Record<string, unknown> };
    return new Set(Object.values(raw.stems ?? {}).filter((v): v is string => typeof v === 'string' && v === path.basename(v)));
  } catch {
    return new Set();
  }
}

/**
 * Before a job writes the song folder `outDir`: its parent exists and is writable, what killed
 * jobs left there is swept, and `outDir` (when it exists) holds only what a run of Stemdeck writes
 * — it is replaced as a whole, so anything else in it (or the input itself) would be lost.
 * Throws 'output-unwritable' with what to do.
 */
export async function prepareSongFolder(outDir: string, input?: string): Promise<void> {
  const parent = path.dirname(outDir);
  await ensureWritableDir(parent);
  await sweepFolderSwaps(parent);
  const st = await fs.lstat(outDir).catch(() => null);
  if (!st) return;
  if (!st.isDirectory())
    throw new StemdeckError('output-unwritable', `"${outDir}" is a file, not a folder. Move it away or choose another output folder.`);
  // a mount point cannot be renamed away (nor a staging folder beside it renamed onto it)
  if (st.dev !== (await fs.stat(parent)).dev)
    throw new StemdeckError(
      'output-unwritable',
      `"${outDir}" is a mount point (another disk); a song's folder is replaced as a whole, so it must be a folder on that disk. Choose an output folder above or inside it.`,
    );
  const inside = input ? path.relative(outDir, path.resolve(input)) : '..';
  if (!inside.startsWith('..') && !path.isAbsolute(inside))
    throw new StemdeckError(
      'output-unwritable',
      `The input "${input}" is inside the folder its stems replace ("${outDir}"). Move it, or choose another output folder.`,
    );
  const foreign: string[] = [];
  const recorded = await recordedFiles(outDir);
  for (const e of await fs.readdir(outDir, { withFileTypes: true }))
    if (!(OURS.test(e.name) || (recorded.has(e.name) && e.isFile())) || (!e.isFile() && !e.name.startsWith('.'))) foreign.push(e.name);
  if (foreign.length)
    throw new StemdeckError(
      'output-unwritable',
      `"${outDir}" holds files Stemdeck did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); a song's folder is replaced as a whole. Move them away or choose another output folder.`,
    );
  await removeStaleTempFiles(outDir); // temp files of older versions, which wrote into the song folder
}

/** Stems written at another rate than the model's: the input's rate and its frame count there (null: unknown). */
export interface SinkRate {
  sampleRate: number;
  frames: Promise<number | null>;
}

/** What a job settles when its stems are complete (commitAll). */
export interface SinkCommit {
  /**
   * Added to every stem's metadata (the tempo and key the stream found); needs `metadata` at open.
   * WAV stems get them in their acid/bext chunks, FLAC and MP3 stems as tags (writers.ts), before
   * the swap, so the song folder never holds stems still waiting for them.
   */
  metadata?: Partial<StemMetadata>;
  /** Each stem's file name, given its extension without the dot (default `<stem>.<ext>`). */
  fileName?: (stem: string, ext: string) => string;
}

export class StemSink {
  private swapped = false;
  /** Final file name per stem, once commitAll has named them. */
  private names = new Map<string, string>();

  private constructor(
    private readonly outDir: string,
    private readonly staging: { dir: string; token: string },
    private readonly writers: { stem: string; index: number; writer: StemWriter; resampler?: FfmpegResampler; exact?: ExactLength }[],
    private readonly ext: string,
    private readonly withMetadata: boolean,
    private readonly rate: SinkRate | null,
  ) {}

  /**
   * @param outDir the song folder; its parent must exist (prepareSongFolder)
   * @param order  the stems of the chunks given to write(), in order
   * @param wanted the stems to write (a subset of `order`), each to `<outDir>/<stem>.<ext>`
   * @param metadata each stem's DAW metadata (WAV: bext, and acid once the tempo is known)
   * @param rate     write the stems at this rate and length instead (chunks still come at `sampleRate`)
   */
  static async open(
    outDir: string,
    order: readonly string[],
    wanted: readonly string[],
    channels: number,
    sampleRate: number,
    format: OutputFormat,
    metadata?: (stem: string) => StemMetadata,
    rate?: SinkRate,
  ): Promise<StemSink> {
    for (const stem of wanted) if (!order.includes(stem)) throw new Error(`internal: sink stem "${stem}" not in ${order.join(', ')}`);
    const staging = await createStaging(outDir);
    const ext = extensionOf(format);
    const resample = rate && rate.sampleRate !== sampleRate ? rate : null;
    const writers = wanted.map((stem) => {
      const writer = createStemWriter(path.join(staging.dir, `${stem}.${ext}`), channels, resample?.sampleRate ?? sampleRate, format, {}, metadata?.(stem));
      if (!resample) return { stem, index: order.indexOf(stem), writer };
      const resampler = new FfmpegResampler(channels, sampleRate, resample.sampleRate);
      return { stem, index: order.indexOf(stem), writer, resampler, exact: new ExactLength(channels, (p) => writer.write(p)) };
    });
    return new StemSink(outDir, staging, writers, ext, !!metadata, resample);
  }

  /** The final path of each written stem. */
  get targets(): Record<string, string> {
    return Object.fromEntries(this.writers.map((w) => [w.stem, path.join(this.outDir, this.names.get(w.stem) ?? path.basename(w.writer.target))]));
  }

  /**
   * What went wrong with the stems without failing them, once commitAll has run: the stems (by
   * their final names) that lack the late tempo/key tags, in one warning.
   */
  get warnings(): StemdeckWarning[] {
    const untagged = this.writers.filter((w) => w.writer.missingTags);
    if (!untagged.length) return [];
    const files = untagged.map((w) => this.names.get(w.stem) ?? path.basename(w.writer.target));
    return [missingTagsWarning(files, untagged[0].writer.missingTags!)];
  }

  /** Appends one chunk: stems[i] ([channels][frames]) is the i-th stem of `order`. */
  async write(stems: readonly Planar[]): Promise<void> {
    if ((stems[0]?.[0]?.length ?? 0) === 0) return;
    for (const w of this.writers) {
      if (w.resampler) await w.exact!.push(await w.resampler.push(stems[w.index]));
      else await w.writer.write(stems[w.index]);
    }
  }

  /**
   * Finishes every stem (cancellable between files), then swaps the staging folder in.
   * `onProgress` gets 0 … 1 (1 once the song folder holds the new stems).
   */
  async commitAll(signal?: AbortSignal, onProgress?: (fraction: number) => void, settle: SinkCommit = {}): Promise<Record<string, string>> {
    const n = this.writers.length;
    onProgress?.(0);
    if (this.rate) {
      const frames = await this.rate.frames;
      for (const w of this.writers) {
        await w.exact!.push(await w.resampler!.end());
        await w.exact!.finish(frames);
      }
    }
    for (let i = 0; i < n; i++) {
      if (settle.metadata && this.withMetadata) this.writers[i].writer.updateMetadata(settle.metadata);
      await this.writers[i].writer.finish();
      checkAbort(signal);
      onProgress?.((i + 1) / (n + 1));
    }
    for (const w of this.writers) await w.writer.commit(); // renames inside the staging folder
    if (settle.fileName) await this.rename(settle.fileName);
    checkAbort(signal);
    await replaceFolder(this.staging.dir, this.outDir);
    this.swapped = true;
    releaseToken(this.staging.token);
    onProgress?.(1);
    return this.targets;
  }

  /** Renames the committed stems inside the staging folder and records their names. */
  private async rename(fileName: (stem: string, ext: string) => string): Promise<void> {
    const names = new Map(this.writers.map((w) => [w.stem, fileName(w.stem, this.ext)]));
    const taken = new Set<string>();
    for (const [stem, name] of names) {
      const folded = name.normalize('NFC').toLowerCase(); // the same file on case-insensitive disks
      if (name !== path.basename(name) || name.startsWith('.') || taken.has(folded))
        throw new StemdeckError('invalid-request', `The stem "${stem}" would be named "${name}", which is hidden, has a folder in it or names another stem too. Change the name pattern.`);
      taken.add(folded);
    }
    for (const w of this.writers) {
      const name = names.get(w.stem)!;
      if (name !== path.basename(w.writer.target)) await fs.rename(w.writer.target, path.join(this.staging.dir, name));
    }
    await writeJsonAtomic(path.join(this.staging.dir, SONG_FOLDER_RECORD), { stems: Object.fromEntries(names) });
    this.names = names;
  }

  /** Before the swap: deletes the staging folder and stops the writers; never throws. */
  async rollback(): Promise<void> {
    if (this.swapped) return;
    for (const w of this.writers) w.resampler?.abort();
    await Promise.allSettled(this.writers.map((w) => w.writer.abort()));
    await discardStaging(this.staging);
  }
}
