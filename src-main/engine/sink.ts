/**
 * The stems sink of a separation: one writer per written stem (writers.ts: a hidden temp file
 * each), create → write (in stream order) → commit all (finish every temp file, then rename all
 * into place) or roll back (delete the temp files and any stem already renamed), so a failed or
 * cancelled job leaves nothing that looks finished.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Planar } from './adapters/types.js';
import { checkAbort } from './stream.js';
import { createStemWriter, extensionOf, type OutputFormat, type StemWriter } from './writers.js';

export class StemSink {
  private readonly writers: { stem: string; index: number; writer: StemWriter }[];
  private readonly committed: string[] = [];

  /**
   * @param order  the stems of the chunks given to write(), in order
   * @param wanted the stems to write (a subset of `order`), each to `<outDir>/<stem>.<ext>`
   */
  constructor(outDir: string, order: readonly string[], wanted: readonly string[], channels: number, sampleRate: number, format: OutputFormat) {
    const ext = extensionOf(format);
    this.writers = wanted.map((stem) => ({
      stem,
      index: order.indexOf(stem),
      writer: createStemWriter(path.join(outDir, `${stem}.${ext}`), channels, sampleRate, format),
    }));
    for (const w of this.writers) if (w.index < 0) throw new Error(`internal: sink stem "${w.stem}" not in ${order.join(', ')}`);
  }

  /** The final path of each written stem. */
  get targets(): Record<string, string> {
    return Object.fromEntries(this.writers.map((w) => [w.stem, w.writer.target]));
  }

  /** Appends one chunk: stems[i] ([channels][frames]) is the i-th stem of `order`. */
  async write(stems: readonly Planar[]): Promise<void> {
    if ((stems[0]?.[0]?.length ?? 0) === 0) return;
    for (const w of this.writers) await w.writer.write(stems[w.index]);
  }

  /**
   * Finishes every temp file (cancellable between files), then renames them all into place.
   * `onProgress` gets 0 … 1 (1 once every stem is in place).
   */
  async commitAll(signal?: AbortSignal, onProgress?: (fraction: number) => void): Promise<Record<string, string>> {
    const n = this.writers.length;
    onProgress?.(0);
    for (let i = 0; i < n; i++) {
      await this.writers[i].writer.finish();
      checkAbort(signal);
      onProgress?.((i + 1) / (n + 1));
    }
    for (const w of this.writers) {
      await w.writer.commit();
      this.committed.push(w.writer.target);
    }
    onProgress?.(1);
    return this.targets;
  }

  /** Deletes the temp files and any stem already renamed into place; never throws. */
  async rollback(): Promise<void> {
    await Promise.allSettled(this.committed.map((f) => fsp.rm(f, { force: true })));
    await Promise.allSettled(this.writers.map((w) => w.writer.abort()));
  }
}
