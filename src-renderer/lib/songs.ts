/**
 * Loading a separated song for the mixer: song.json through the API, stem audio fetched and
 * decoded in parallel, peaks from peaks.bin. Loads are cached (a few songs) and can start early
 * (on hover or focus of a song in the library) so playback starts within ~300 ms of opening.
 */
import type { Song, StemdeckApi } from '$api/contract.js';
import { audioContext } from './player.js';
import { normalisedPeaks, parsePeaksBin, peakMax, type StemPeaks } from './peaks.js';
import { streamStem } from './wav.js';

export interface LoadedSong {
  song: Song;
  /** What can play now: the first seconds of each stem (or all of it for short songs). */
  buffers: Map<string, AudioBuffer>;
  /** Every stem complete; `buffers` is replaced by these when they arrive. */
  full: Promise<Map<string, AudioBuffer>>;
  /** Longer beginnings of every stem (see wav.ts), in order; the last ones are the complete stems. */
  stages: Promise<Map<string, AudioBuffer>>[];
  /** Whether `buffers` are complete already. */
  complete: boolean;
  /** Song duration (s), known from the stems' headers before they are complete. */
  duration: number;
  /** Precomputed peaks; filled when peaks.bin arrived (`peaksLoaded`), after playback can start. */
  peaks: Map<string, StemPeaks>;
  /** Resolves once `peaks` holds what peaks.bin has (never rejects; peaks of a long song are large). */
  peaksLoaded: Promise<void>;
  /** Lets the rest of every stem stream in (call once playback started; happens by itself ~1 s after the heads). */
  streamRest(): void;
  /** ms from the start of the load to playable buffers. */
  loadMs: number;
}

/** Decoded songs kept (a 4-minute 4-stem song is ~340 MB of float32). */
const CACHE_SIZE = 2;
const cache = new Map<string, Promise<LoadedSong>>();

/** Seconds of each stem needed before playback can start (the rest streams in while playing). */
function headSeconds(): number {
  const v = Number(globalThis.localStorage?.getItem('stemdeckHeadSeconds'));
  return Number.isFinite(v) && v > 0 ? v : 2;
}

/** ms after the heads arrived when the rest of the stems streams in even if nothing plays yet. */
const REST_DELAY_MS = 1000;

async function fetchArray(url: string, what: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Could not load ${what} (${res.status}).`);
  return res.arrayBuffer();
}

async function load(api: StemdeckApi, id: string): Promise<LoadedSong> {
  const t0 = performance.now();
  performance.mark('stemdeck:load');
  const song = await api.call('library.get', { id });
  performance.mark('stemdeck:song');
  const ctx = audioContext();
  const peaksPromise = song.peaks
    ? fetchArray(api.mediaUrl(song.peaks.ref), 'the waveform')
        .then(parsePeaksBin)
        .catch(() => null)
    : Promise.resolve(null);
  const head = headSeconds();
  let streamRest!: () => void;
  const rest = new Promise<void>((r) => (streamRest = r));
  const streams = song.stems.map((s) => ({ name: s.name, stream: streamStem(ctx, api.mediaUrl(s.ref), head, `the ${s.name} stem`, rest) }));
  const heads = await Promise.all(streams.map(async ({ name, stream }) => [name, await stream.head] as const));
  performance.mark('stemdeck:heads');
  setTimeout(streamRest, REST_DELAY_MS);
  const durations = await Promise.all(streams.map(({ stream }) => stream.duration));
  const full = Promise.all(streams.map(async ({ name, stream }) => [name, await stream.full] as const)).then((e) => new Map(e));
  full.catch(() => undefined);
  const stages = streams[0].stream.stages.map((_, k) => {
    const p = Promise.all(streams.map(async ({ name, stream }) => [name, await stream.stages[k]] as const)).then((e) => new Map(e));
    p.catch(() => undefined);
    return p;
  });
  const buffers = new Map(heads);
  const complete = heads.every(([, b], i) => Math.abs(b.duration - durations[i]) < 1e-3);
  const peaks = new Map<string, StemPeaks>();
  // not awaited: playback must not wait for the waveform of the whole song
  const peaksLoaded = peaksPromise.then((peakList) => {
    performance.mark('stemdeck:peaks');
    song.stems.forEach((s, i) => {
      const p = peakList?.[i];
      // precomputed peaks when they have enough resolution; quiet stems get normalised peaks
      // computed from the audio later (`completePeaks`, after playback can start)
      if (p && p.levels.length > 0 && peakMax(p) >= 20 && !peaks.has(s.name)) peaks.set(s.name, p);
    });
  });
  const loaded: LoadedSong = {
    song,
    buffers,
    full,
    stages,
    complete,
    duration: Math.max(song.durationSeconds, ...durations.filter((d) => Number.isFinite(d))),
    peaks,
    peaksLoaded,
    streamRest,
    loadMs: performance.now() - t0,
  };
  if (!complete)
    void full.then((m) => {
      loaded.buffers = m;
      loaded.complete = true;
    }, () => undefined);
  return loaded;
}

/** Computes display peaks for stems that have none (or too quiet ones) from the complete audio. */
export function completePeaks(l: LoadedSong, buffers: Map<string, AudioBuffer>): boolean {
  let changed = false;
  for (const [name, b] of buffers)
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
