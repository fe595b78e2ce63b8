/**
 * The song library: one folder per separated song under the library root.
 *
 *   <library>/<songId>/song.json      validated by SongSchema (contract.ts), written atomically
 *   <library>/<songId>/stems/<stem>.wav
 *   <library>/<songId>/peaks.bin      waveform peaks (src-main/api/peaks.ts)
 *   <library>/<songId>/artwork.<ext>  cover art from the source's tags, if any
 *   <library>/.tmp-<jobId>/           a separation in progress (swapped in as a whole when complete,
 *                                     output/folder-swap.ts; removed at start-up if a crash left it)
 *
 * Song ids are derived from the source's content hash and the separation settings, so the
 * same file separated with the same model and settings is found again at once.
 */
import fs from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { SongSchema, type MixStateT, type SeparationSettings, type Song, type SongSummary } from '../api/contract.js';
import { StemdeckError } from '../engine/errors.js';
import { fsyncDir, removeStaleTemps, writeJsonAtomic } from '../engine/output/atomic.js';
import { replaceFolder, sweepFolderSwaps } from '../engine/output/folder-swap.js';

export async function hashFile(file: string): Promise<{ hash: string; bytes: number }> {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(file, { highWaterMark: 1 << 20 });
    s.on('data', (b) => {
      bytes += b.length;
      h.update(b);
    });
    s.on('error', reject);
    s.on('end', () => resolve());
  });
  return { hash: h.digest('hex'), bytes };
}

/** The part of the settings that changes the stems (the device does not). */
export function settingsKey(s: SeparationSettings): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify({ model: s.model, overlap: s.overlap }))
    .digest('hex');
}

export function songIdFor(hash: string, settings: SeparationSettings): string {
  return `${hash.slice(0, 16)}-${settingsKey(settings).slice(0, 8)}`;
}

/** Bytes of every file under `dir` (song folders are small trees: stems/, peaks, artwork, song.json). */
export async function folderBytes(dir: string): Promise<number> {
  let bytes = 0;
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) bytes += await folderBytes(full);
    else if (e.isFile()) bytes += await fs.stat(full).then((st) => st.size, () => 0);
  }
  return bytes;
}

export function summarize(song: Song, diskBytes?: number): SongSummary {
  return {
    id: song.id,
    createdAt: song.createdAt,
    title: song.title,
    tags: song.tags,
    artwork: song.artwork,
    durationSeconds: song.durationSeconds,
    model: song.model,
    settings: song.settings,
    ...(song.warnings?.length ? { warnings: song.warnings } : {}),
    ...(song.tempo ? { tempo: song.tempo } : {}),
    ...(song.key ? { key: song.key } : {}),
    ...(song.stemsDeletedAt ? { stemsDeletedAt: song.stemsDeletedAt } : {}),
    sourceName: song.source.name,
    stems: song.stems.map((s) => s.name),
    ...(diskBytes === undefined ? {} : { diskBytes }),
  };
}

const SONG_ID = /^[a-z0-9][a-z0-9-]{0,80}$/;

export class Library {
  private songs = new Map<string, Song>();
  /** Song id → bytes its folder takes, measured when it is loaded, committed or its stems deleted. */
  private diskBytes = new Map<string, number>();

  constructor(readonly root: string) {}

  /** Creates the folder, removes what crashed jobs left, loads every valid song.json. */
  async init(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    await sweepFolderSwaps(this.root); // first: it may put a song folder back
    const names = await fs.readdir(this.root);
    this.songs.clear();
    this.diskBytes.clear();
    for (const name of names) {
      const dir = path.join(this.root, name);
      if (name.startsWith('.tmp-') || name.startsWith('.trash-')) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      if (!SONG_ID.test(name)) continue;
      const song = await this.readSong(name);
      if (!song) continue;
      this.songs.set(song.id, song);
      this.diskBytes.set(song.id, await folderBytes(dir));
    }
    await removeStaleTemps(this.root);
  }

  private async readSong(id: string): Promise<Song | null> {
    const dir = path.join(this.root, id);
    await removeStaleTemps(dir);
    try {
      const raw = JSON.parse(await fs.readFile(path.join(dir, 'song.json'), 'utf8')) as unknown;
      const parsed = SongSchema.safeParse(raw);
      if (!parsed.success || parsed.data.id !== id) return null;
      return parsed.data;
    } catch {
      return null;
    }
  }

  songDir(id: string): string {
    if (!SONG_ID.test(id)) throw new StemdeckError('invalid-request', `"${id}" is not a song id.`);
    return path.join(this.root, id);
  }

  /** Where a job writes before its song is complete. */
  stagingDir(jobId: string): string {
    if (!SONG_ID.test(jobId)) throw new StemdeckError('invalid-request', `"${jobId}" is not a job id.`);
    return path.join(this.root, `.tmp-${jobId}`);
  }

  list(query?: string): SongSummary[] {
    const q = (query ?? '').trim().toLowerCase();
    const words = q ? q.split(/\s+/) : [];
    return [...this.songs.values()]
      .filter((s) => {
        if (!words.length) return true;
        const hay = [s.title, s.tags.title, s.tags.artist, s.tags.album, s.source.name, s.model.name]
          .filter(Boolean)
          .join(' ')
          .toLowerCase();
        return words.every((w) => hay.includes(w));
      })
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id.localeCompare(b.id)))
      .map((s) => summarize(s, this.diskBytes.get(s.id)));
  }

  /** Disk use of every song folder together. */
  usage(): { totalBytes: number; songs: number } {
    let totalBytes = 0;
    for (const id of this.songs.keys()) totalBytes += this.diskBytes.get(id) ?? 0;
    return { totalBytes, songs: this.songs.size };
  }

  /** Every song's model, length and job time, oldest first (eta.ts measures speed from them). */
  runs(): { model: string; durationSeconds: number; seconds: number }[] {
    return [...this.songs.values()]
      .filter((s) => s.stats)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
      .map((s) => ({ model: s.model.id, durationSeconds: s.durationSeconds, seconds: s.stats!.seconds }));
  }

  has(id: string): boolean {
    return this.songs.has(id);
  }

  get(id: string): Song {
    const song = this.songs.get(id);
    if (!song) throw new StemdeckError('input-missing', 'This song is not in the library any more. Open the file again to separate it.');
    return song;
  }

  /** A finished song with the same content and settings, if its stems are still on disk. */
  async findExisting(hash: string, settings: SeparationSettings): Promise<Song | null> {
    const key = settingsKey(settings);
    for (const song of this.songs.values()) {
      if (song.source.hash !== hash || settingsKey(song.settings) !== key || song.stemsDeletedAt) continue;
      const ok = await Promise.all(
        song.stems.map((s) =>
          fs.stat(path.join(this.root, song.id, s.file)).then(
            (st) => st.isFile(),
            () => false,
          ),
        ),
      );
      if (ok.every(Boolean)) return song;
    }
    return null;
  }

  /**
   * Moves a completed staging folder (stems, peaks, artwork, song.json) into place.
   * The song.json inside is validated first; an older folder with the same id is replaced.
   */
  async commit(staging: string): Promise<Song> {
    const raw = JSON.parse(await fs.readFile(path.join(staging, 'song.json'), 'utf8')) as unknown;
    const song = SongSchema.parse(raw);
    // the whole folder at once: a kill part way leaves the old song or the new one (folder-swap.ts)
    await replaceFolder(staging, this.songDir(song.id));
    this.songs.set(song.id, song);
    this.diskBytes.set(song.id, await folderBytes(this.songDir(song.id)));
    return song;
  }

  async delete(id: string): Promise<void> {
    const dir = this.songDir(id);
    this.get(id);
    const trash = path.join(this.root, `.trash-${id}-${crypto.randomBytes(4).toString('hex')}`);
    await fs.rename(dir, trash);
    this.songs.delete(id);
    this.diskBytes.delete(id);
    await fsyncDir(this.root);
    await fs.rm(trash, { recursive: true, force: true });
  }

  /**
   * Deletes the song's stems to free disk space and keeps its entry (title, waveform, mixer,
   * source): song.json says so first, so a kill part way leaves a song marked as without stems,
   * never one that looks playable with stems missing. Separating the source again restores it.
   */
  async deleteStems(id: string): Promise<Song> {
    const song = this.get(id);
    const dir = this.songDir(id);
    const next = song.stemsDeletedAt ? song : SongSchema.parse({ ...song, stemsDeletedAt: new Date().toISOString() });
    if (next !== song) await writeJsonAtomic(path.join(dir, 'song.json'), next);
    this.songs.set(id, next);
    await fs.rm(path.join(dir, 'stems'), { recursive: true, force: true });
    this.diskBytes.set(id, await folderBytes(dir));
    return next;
  }

  async saveMixer(id: string, mixer: MixStateT): Promise<Song> {
    const song = this.get(id);
    const names = new Set(song.stems.map((s) => s.name));
    for (const stem of Object.keys(mixer.lanes))
      if (!names.has(stem)) throw new StemdeckError('invalid-request', `The song has no stem "${stem}".`);
    const next = SongSchema.parse({ ...song, mixer });
    await writeJsonAtomic(path.join(this.songDir(id), 'song.json'), next);
    this.songs.set(id, next);
    return next;
  }
}
