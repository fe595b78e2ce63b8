/** Reading back what an encoded file holds, with the project's own ffmpeg (ffprobe is not shipped with it). */
import { ffmpeg } from './helpers.js';

/**
 * A file's container tags as ffmpeg's demuxer reads them (its ffmetadata dump): FLAC Vorbis
 * comments by their names (BPM, INITIALKEY), ID3v2 frames by their ids where ffmpeg has no common
 * name for them (TBPM, TKEY).
 */
export function readAudioTags(file: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const line of ffmpeg(['-i', `file:${file}`, '-f', 'ffmetadata', 'pipe:1']).toString('utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith(';') || line.startsWith('[') || eq <= 0) continue;
    tags[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return tags;
}

/** The file's first audio stream decoded to interleaved 32-bit float samples (its own rate and channels). */
export function decodeSamples(file: string): Buffer {
  return ffmpeg(['-i', `file:${file}`, '-map', '0:a:0', '-f', 'f32le', '-c:a', 'pcm_f32le', 'pipe:1']);
}
