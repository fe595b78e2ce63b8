/**
 * Finding the ffmpeg binary. Order: STEMDECK_FFMPEG, ffmpeg-static (optional dependency),
 * @ffmpeg-installer/ffmpeg (a binary shipped inside an npm package), `ffmpeg` on PATH.
 * npm 11 does not run install scripts, so a shipped binary may have lost its execute bit:
 * we try to chmod it, and otherwise fall through to the next candidate.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { StemdeckError } from './errors.js';

export type FfmpegSource = 'env' | 'ffmpeg-static' | '@ffmpeg-installer' | 'path';
export interface FfmpegLocation {
  path: string;
  source: FfmpegSource;
}

const require = createRequire(import.meta.url);
let cached: FfmpegLocation | null = null;
let cachedKey = '';

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Returns the file if it is (or could be made) executable, else null. */
function usable(file: string | null | undefined): string | null {
  if (!file) return null;
  if (!fs.existsSync(file)) return null;
  if (isExecutable(file)) return file;
  try {
    const mode = fs.statSync(file).mode;
    fs.chmodSync(file, mode | 0o755);
  } catch {
    return null;
  }
  return isExecutable(file) ? file : null;
}

function fromPackage(name: string): string | null {
  try {
    const mod = require(name) as unknown;
    if (typeof mod === 'string') return mod;
    if (mod && typeof mod === 'object') {
      const m = mod as { path?: unknown; default?: unknown };
      if (typeof m.path === 'string') return m.path;
      if (typeof m.default === 'string') return m.default;
    }
  } catch {
    // not installed (optional dependency) or its binary is missing
  }
  return null;
}

function fromPath(): string | null {
  const exe = process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const f = path.join(dir, exe);
    if (isExecutable(f)) return f;
  }
  return null;
}

/** Locates ffmpeg; throws StemdeckError('ffmpeg-missing') when none is usable. */
export function locateFfmpeg(): FfmpegLocation {
  const key = `${process.env.STEMDECK_FFMPEG ?? ''}|${process.env.PATH ?? ''}`;
  if (cached && cachedKey === key && fs.existsSync(cached.path)) return cached;
  let found: FfmpegLocation | null = null;
  const env = process.env.STEMDECK_FFMPEG;
  if (env) {
    const p = usable(path.resolve(env));
    if (!p)
      throw new StemdeckError(
        'ffmpeg-missing',
        `STEMDECK_FFMPEG points to "${env}", which is not an executable ffmpeg. Fix the path or unset the variable.`,
      );
    found = { path: p, source: 'env' };
  }
  if (!found) {
    const p = usable(fromPackage('ffmpeg-static'));
    if (p) found = { path: p, source: 'ffmpeg-static' };
  }
  if (!found) {
    const p = usable(fromPackage('@ffmpeg-installer/ffmpeg'));
    if (p) found = { path: p, source: '@ffmpeg-installer' };
  }
  if (!found) {
    const p = fromPath();
    if (p) found = { path: p, source: 'path' };
  }
  if (!found)
    throw new StemdeckError(
      'ffmpeg-missing',
      'ffmpeg was not found. Run `npm install` again, install ffmpeg (e.g. `apt install ffmpeg`), or set STEMDECK_FFMPEG to its path.',
    );
  cached = found;
  cachedKey = key;
  return found;
}
