/**
 * Completes a song folder after the engine wrote its stems into `<staging>/stems/`:
 * waveform peaks, artwork, tempo and key (found by the separation, else from the source file), then
 * song.json (all atomic).
 * Runs in the engine host process.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { SongSchema, type ApiWarning, type SeparationSettings, type Song } from '../api/contract.js';
import { encodePeaks, PeaksBuilder, PEAKS_LEVELS } from '../api/peaks.js';
import { defaultMix } from '../shared/mix-law.js';
import { locateFfmpeg } from '../engine/ffmpeg.js';
import { ffmpegPath } from '../engine/decode.js';
import { analyzeFile, type MusicAnalysis } from '../engine/analysis/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../engine/output/atomic.js';
import { readWavChunks, readWavInfo } from '../engine/output/wav.js';

export interface FinalizeOptions {
  staging: string;
  id: string;
  source: { path: string; name: string; hash: string; bytes: number };
  settings: SeparationSettings;
  model: { id: string; name: string };
  /** Stem name → file written by the engine (inside `<staging>/stems/`). */
  outputs: Record<string, string>;
  stemOrder: string[];
  tags: { title?: string; artist?: string; album?: string };
  hasArtwork: boolean;
  durationSeconds: number;
  stats?: { seconds: number; realtimeFactor: number };
  /** The job's warnings (damaged input, NaN samples replaced, device fallback), kept in song.json. */
  warnings?: ApiWarning[];
  /** Tempo and key the separation found while it streamed; when absent (or null) the source is analysed here. */
  music?: MusicAnalysis | null;
  createdAt?: string;
}

export async function computePeaks(files: string[]): Promise<{ data: Uint8Array; frames: number; sampleRate: number }> {
  const infos = await Promise.all(files.map((f) => readWavInfo(f)));
  const frames = Math.max(0, ...infos.map((i) => i.frames));
  const sampleRate = infos[0]?.sampleRate ?? 44100;
  const stems: Int8Array[][] = [];
  for (const f of files) {
    const b = new PeaksBuilder(frames, PEAKS_LEVELS);
    for await (const chunk of readWavChunks(f, 1 << 16)) b.push(chunk);
    stems.push(b.levelData());
  }
  return { data: encodePeaks(sampleRate, frames, PEAKS_LEVELS, stems), frames, sampleRate };
}

/** Extracts the embedded cover (if any) to `<dir>/artwork.jpg`; returns false when there is none. */
export async function extractArtwork(input: string, out: string): Promise<boolean> {
  let ffmpeg: string;
  try {
    ffmpeg = locateFfmpeg().path;
  } catch {
    return false;
  }
  const tmp = `${out}.part.jpg`;
  const ok = await new Promise<boolean>((resolve) => {
    const p = spawn(
      ffmpeg,
      ['-nostdin', '-v', 'error', '-y', '-i', ffmpegPath(input), '-map', '0:v:0', '-frames:v', '1', '-vf', "scale='min(600,iw)':-2", '-f', 'image2', '-c:v', 'mjpeg', ffmpegPath(tmp)],
      { stdio: 'ignore' },
    );
    p.on('error', () => resolve(false));
    p.on('close', (code) => resolve(code === 0));
  });
  if (!ok) {
    await fs.rm(tmp, { force: true });
    return false;
  }
  const st = await fs.stat(tmp).catch(() => null);
  if (!st || st.size === 0) {
    await fs.rm(tmp, { force: true });
    return false;
  }
  await fs.rename(tmp, out);
  return true;
}

export async function finalizeSong(o: FinalizeOptions): Promise<Song> {
  const stemsDir = path.join(o.staging, 'stems');
  await fs.mkdir(stemsDir, { recursive: true });
  const stems: Song['stems'] = [];
  for (const name of o.stemOrder) {
    const src = o.outputs[name];
    if (!src) continue;
    const rel = `stems/${name}${path.extname(src) || '.wav'}`;
    const dest = path.join(o.staging, rel);
    if (path.resolve(src) !== path.resolve(dest)) await fs.rename(src, dest);
    stems.push({ name, file: rel, ref: { root: 'library', path: `${o.id}/${rel}` } });
  }
  const wavs = stems.map((s) => path.join(o.staging, s.file));
  const peaks = await computePeaks(wavs);
  await writeFileAtomic(path.join(o.staging, 'peaks.bin'), peaks.data);
  const hasArt = o.hasArtwork ? await extractArtwork(o.source.path, path.join(o.staging, 'artwork.jpg')) : false;
  const music = o.music ?? (await analyzeSource(o.source.path));
  const title = o.tags.title?.trim() || o.source.name.replace(/\.[^.]+$/, '');
  const song: Song = SongSchema.parse({
    version: 1,
    id: o.id,
    createdAt: o.createdAt ?? new Date().toISOString(),
    source: o.source,
    tags: o.tags,
    title,
    artwork: hasArt ? { root: 'library', path: `${o.id}/artwork.jpg` } : null,
    durationSeconds: o.durationSeconds,
    sampleRate: peaks.sampleRate,
    model: o.model,
    settings: o.settings,
    stems,
    peaks: { file: 'peaks.bin', ref: { root: 'library', path: `${o.id}/peaks.bin` }, levels: [...PEAKS_LEVELS], frames: peaks.frames, sampleRate: peaks.sampleRate },
    mixer: { ...defaultMix(stems.map((s) => s.name)), loop: null },
    ...(o.stats ? { stats: o.stats } : {}),
    ...(o.warnings?.length ? { warnings: o.warnings } : {}),
    ...(music.tempo ? { tempo: music.tempo.bpm, firstBeatSeconds: Math.round(music.tempo.firstBeatSeconds * 1000) / 1000 } : {}),
    ...(music.tempo?.firstDownbeatSeconds != null ? { firstDownbeatSeconds: Math.round(music.tempo.firstDownbeatSeconds * 1000) / 1000 } : {}),
    ...(music.key ? { key: music.key.name } : {}),
  });
  await writeJsonAtomic(path.join(o.staging, 'song.json'), song);
  return song;
}

/** Tempo and key of the source; a failed analysis leaves them out of the song (the stems are fine). */
async function analyzeSource(file: string): Promise<MusicAnalysis> {
  try {
    return await analyzeFile(file);
  } catch (e) {
    console.warn(`stemdeck: tempo and key of "${file}" could not be detected: ${e instanceof Error ? e.message : String(e)}`);
    return { tempo: null, key: null };
  }
}
