/**
 * The stems sink of a separation: the song's stems are written into a hidden staging folder beside
 * the song folder `outDir` (one writer per stem, writers.ts), and when every stem is complete the
 * staging folder replaces `outDir` as a whole (output/folder-swap.ts). So `outDir` always holds one
 * run's complete set of stems — never new stems beside an older run's — and a failed or cancelled
 * job leaves nothing that looks finished (its staging folder is removed; a killed one is swept by
 * the next job in that parent folder).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Planar } from './adapters/types.js';
import { StemdeckError } from './errors.js';
import { checkAbort } from './stream.js';
import { createStaging, discardStaging, replaceFolder, sweepFolderSwaps } from './output/folder-swap.js';
import { releaseToken } from './output/temp-tokens.js';
import { createStemWriter, ensureWritableDir, extensionOf, removeStaleTempFiles, type OutputFormat, type StemWriter } from './writers.js';

/** Entries of a song folder that a run of Stemdeck may have written (replaced with the folder). */
const OURS = /^(\..*|[a-z][a-z0-9_-]*\.(wav|flac|mp3)|Thumbs\.db|desktop\.ini)$/;

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
  for (const e of await fs.readdir(outDir, { withFileTypes: true }))
    if (!OURS.test(e.name) || (!e.isFile() && !e.name.startsWith('.'))) foreign.push(e.name);
  if (foreign.length)
    throw new StemdeckError(
      'output-unwritable',
      `"${outDir}" holds files Stemdeck did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); a song's folder is replaced as a whole. Move them away or choose another output folder.`,
    );
  await removeStaleTempFiles(outDir); // temp files of older versions, which wrote into the song folder
}

export class StemSink {
  private swapped = false;

  private constructor(
    private readonly outDir: string,
    private readonly staging: { dir: string; token: string },
    private readonly writers: { stem: string; index: number; writer: StemWriter }[],
  ) {}

  /**
   * @param outDir the song folder; its parent must exist (prepareSongFolder)
   * @param order  the stems of the chunks given to write(), in order
   * @param wanted the stems to write (a subset of `order`), each to `<outDir>/<stem>.<ext>`
   */
  static async open(outDir: string, order: readonly string[], wanted: readonly string[], channels: number, sampleRate: number, format: OutputFormat): Promise<StemSink> {
    for (const stem of wanted) if (!order.includes(stem)) throw new Error(`internal: sink stem "${stem}" not in ${order.join(', ')}`);
    const staging = await createStaging(outDir);
    const ext = extensionOf(format);
    const writers = wanted.map((stem) => ({
      stem,
      index: order.indexOf(stem),
      writer: createStemWriter(path.join(staging.dir, `${stem}.${ext}`), channels, sampleRate, format),
    }));
    return new StemSink(outDir, staging, writers);
  }

  /** The final path of each written stem. */
  get targets(): Record<string, string> {
    return Object.fromEntries(this.writers.map((w) => [w.stem, path.join(this.outDir, path.basename(w.writer.target))]));
  }

  /** Appends one chunk: stems[i] ([channels][frames]) is the i-th stem of `order`. */
  async write(stems: readonly Planar[]): Promise<void> {
    if ((stems[0]?.[0]?.length ?? 0) === 0) return;
    for (const w of this.writers) await w.writer.write(stems[w.index]);
  }

  /**
   * Finishes every stem (cancellable between files), then swaps the staging folder in.
   * `onProgress` gets 0 … 1 (1 once the song folder holds the new stems).
   */
  async commitAll(signal?: AbortSignal, onProgress?: (fraction: number) => void): Promise<Record<string, string>> {
    const n = this.writers.length;
    onProgress?.(0);
    for (let i = 0; i < n; i++) {
      await this.writers[i].writer.finish();
      checkAbort(signal);
      onProgress?.((i + 1) / (n + 1));
    }
    for (const w of this.writers) await w.writer.commit(); // renames inside the staging folder
    checkAbort(signal);
    await replaceFolder(this.staging.dir, this.outDir);
    this.swapped = true;
    releaseToken(this.staging.token);
    onProgress?.(1);
    return this.targets;
  }

  /** Before the swap: deletes the staging folder and stops the writers; never throws. */
  async rollback(): Promise<void> {
    if (this.swapped) return;
    await Promise.allSettled(this.writers.map((w) => w.writer.abort()));
    await discardStaging(this.staging);
  }
}
