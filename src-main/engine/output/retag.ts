/**
 * Adding tags to a finished FLAC or MP3 file: ffmpeg copies its audio packets unchanged into
 * `dest` (`-c copy`) with the source's tags plus the new ones. Used for what a separation learns
 * only at its end (the tempo and key), after the encoder has written its tags. A stream copy takes
 * a fraction of a second even for a long song, and keeps the samples bit for bit (for MP3 the
 * muxer writes a new Xing/LAME header with the encoder delay and padding, so the decoded length
 * stays exact).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { locateFfmpeg } from '../ffmpeg.js';
import { ffmpegPath } from '../decode.js';

/**
 * Writes `source` with `tags` added (a tag of the same name replaced) to `dest` in `muxer`'s
 * format. Throws an Error with ffmpeg's last words when it fails; `dest` may then be partial.
 */
export async function remuxWithTags(source: string, dest: string, muxer: 'flac' | 'mp3', tags: Record<string, string>): Promise<void> {
  const meta = Object.entries(tags).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-i', ffmpegPath(source), '-map', '0', '-c', 'copy', '-map_metadata', '0', ...meta, '-f', muxer, '-y', ffmpegPath(dest)];
  const child = spawn(locateFfmpeg().path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  // rejects with the spawn error when ffmpeg cannot be started
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(signal ? `ffmpeg was killed (${signal})` : `ffmpeg said "${stderr.trim().split('\n').pop() || `exit code ${code}`}"`);
}
