/**
 * Loading a separated song for the mixer: song.json through the API, stem audio fetched and
 * decoded in parallel, peaks from peaks.bin. Loads are cached (a few songs) and can start early
 * (on hover or focus of a song in the library) so playback starts within ~300 ms of opening.
 */
import type { Song, StemdeckApi } from '../../src-main/api/contract.js';
import { audioContext } from './player.js';
import { normalisedPeaks, parsePeaksBin, peakMax, type StemPeaks } from './peaks.js';

export interface LoadedSong {
  song: Song;
  buffers: Map<string, AudioBuffer>;
  peaks: Map<string, StemPeaks>;
  /** ms from the start of the load to all stems decoded. */
  loadMs: number;
}

const CACHE_SIZE = 3;
const cache = new Map<string, Promise<LoadedSong>>();

async function fetchArray(url: string, what: string): Promise<ArrayBuffer> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch {
    throw new Error(`Could not load ${what}: the Stemdeck server is not reachable.`);
  }
  if (!res.ok) throw new Error(`Could not load ${what} (${res.status}). The song folder may have been moved or deleted; separate the file again.`);
  return res.arrayBuffer();
}

async function load(api: StemdeckApi, id: string): Promise<LoadedSong> {
  const t0 = performance.now();
  const song = await api.call('library.get', { id });
  const ctx = audioContext();
  const peaksPromise = song.peaks
    ? fetchArray(api.mediaUrl(song.peaks.ref), 'the waveform')
        .then(parsePeaksBin)
        .catch(() => null)
    : Promise.resolve(null);
  const decoded = await Promise.all(
    song.stems.map(async (s) => {
      const data = await fetchArray(api.mediaUrl(s.ref), `the ${s.name} stem`);
      try {
        return [s.name, await ctx.decodeAudioData(data)] as const;
      } catch {
        throw new Error(`The ${s.name} stem could not be decoded. Separate the song again.`);
      }
    }),
  );
  const buffers = new Map(decoded);
  const peakList = await peaksPromise;
  const peaks = new Map<string, StemPeaks>();
  song.stems.forEach((s, i) => {
    const p = peakList?.[i];
    const b = buffers.get(s.name);
    // precomputed peaks when they have enough resolution; quiet stems get normalised peaks
    // computed from the audio later (`completePeaks`, after playback can start)
    if (p && p.levels.length > 0 && (peakMax(p) >= 20 || !b)) peaks.set(s.name, p);
  });
  return { song, buffers, peaks, loadMs: performance.now() - t0 };
}

/** Computes display peaks for stems that have none (or too quiet ones) from the decoded audio. */
export function completePeaks(l: LoadedSong): boolean {
  let changed = false;
  for (const [name, b] of l.buffers)
    if (!l.peaks.has(name)) {
      l.peaks.set(name, normalisedPeaks(b));
      changed = true;
    }
  return changed;
}

/** Loads (or returns the cached load of) a song. */
export function loadSong(api: StemdeckApi, id: string): Promise<LoadedSong> {
  let p = cache.get(id);
  if (p) {
    cache.delete(id);
    cache.set(id, p);
    return p;
  }
  p = load(api, id);
  p.catch(() => cache.delete(id));
  cache.set(id, p);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return p;
}

/** Starts loading a song in the background (hover, focus). */
export function prefetchSong(api: StemdeckApi, id: string): void {
  if (!cache.has(id)) void loadSong(api, id).catch(() => undefined);
}

export function forgetSong(id: string): void {
  cache.delete(id);
}
