/** Helpers for the app tests: isolated app-data folders, fixture models, generated songs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { locateFfmpeg } from '../../src-main/engine/ffmpeg.js';
import type { App } from '../../src-main/host/app.js';
import type { Job } from '../../src-main/api/contract.js';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

const created: string[] = [];
// Temp dirs (songs, stems, app data) are removed when the test process ends; keep them with STEMDECK_KEEP_TMP=1.
process.on('exit', () => {
  if (process.env.STEMDECK_KEEP_TMP) return;
  for (const d of created) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'stemdeck-app-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

/**
 * Fresh STEMDECK_HOME/LIBRARY/MODELS; the identity-waveform fixture model (stems vocals + other,
 * each an exact copy of the input) is installed as a user model so the real engine runs fast.
 */
export function isolatedHome(): string {
  const home = tempDir('stemdeck-home-');
  process.env.STEMDECK_HOME = home;
  process.env.STEMDECK_LIBRARY = path.join(home, 'library');
  process.env.STEMDECK_MODELS = path.join(home, 'models');
  const src = path.join(repoRoot, 'test', 'fixtures', 'models', 'identity-waveform');
  fs.cpSync(src, path.join(home, 'models', 'identity-waveform'), { recursive: true });
  return home;
}

export function ffmpeg(args: string[]): void {
  const r = spawnSync(locateFfmpeg().path, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** A stereo test song (tones + noise) with tags, `seconds` long, encoded by extension (.wav/.mp3/.flac). */
export function makeSong(file: string, seconds: number, title = 'Test Song', freq = 220): string {
  ffmpeg([
    '-f', 'lavfi', '-i', `sine=frequency=${freq}:sample_rate=44100:duration=${seconds}`,
    '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.1:sample_rate=44100:duration=${seconds}:seed=3`,
    '-filter_complex', '[0:a][1:a]amerge=inputs=2[a]', '-map', '[a]', '-ac', '2',
    '-metadata', `title=${title}`, '-metadata', 'artist=Test Artist', '-metadata', 'album=Test Album',
    file,
  ]);
  return file;
}

export function waitFor<T>(app: App, pred: (job: Job) => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      app.off('event', on);
      reject(new Error('timed out waiting for a job event'));
    }, timeoutMs);
    const on = (name: string, payload: unknown) => {
      if (name !== 'job') return;
      const r = pred(payload as Job);
      if (r) {
        clearTimeout(t);
        app.off('event', on);
        resolve(r);
      }
    };
    app.on('event', on);
  });
}

export function waitJobEnd(app: App, id: string, timeoutMs = 60_000): Promise<Job> {
  const now = app.host.list().find((j) => j.id === id);
  if (now && (now.status === 'done' || now.status === 'failed' || now.status === 'cancelled')) return Promise.resolve(now);
  return waitFor(app, (j) => j.id === id && (j.status === 'done' || j.status === 'failed' || j.status === 'cancelled') && j, timeoutMs);
}
