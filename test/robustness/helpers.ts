/**
 * Shared helpers for the robustness tests (issue 7): fixtures made by the real ffmpeg in a temp
 * dir at test time, a small independent WAV reader (so the checks do not trust the engine's own
 * decoder), and checks that a failed job left nothing that looks finished.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { execPath } from 'node:process';
import { locateFfmpeg } from '../../src-main/engine/ffmpeg.js';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const fixtureModels = path.join(repoRoot, 'test', 'fixtures', 'models');
/** The tiny waveform identity model: every stem (vocals, other) equals the input; 1-s segments. */
export const identityWaveform = path.join(fixtureModels, 'identity-waveform', 'manifest.json');
export const identityComplex = path.join(fixtureModels, 'identity-complex', 'manifest.json');

/** A fresh temp dir; also points STEMDECK_HOME there so nothing touches the real app data. */
export function tempDir(prefix = 'stemdeck-robust-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return d;
}

export function useTempHome(): string {
  const home = tempDir('stemdeck-home-');
  process.env.STEMDECK_HOME = home;
  process.env.STEMDECK_MODELS = path.join(home, 'models');
  process.env.STEMDECK_LIBRARY = path.join(home, 'library');
  return home;
}

export function ffmpeg(args: string[]): void {
  const r = spawnSync(locateFfmpeg().path, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** A stereo 44.1 kHz test signal (two tones + a little noise) of `seconds`, encoded by `codecArgs`. */
export function makeTone(
  file: string,
  seconds: number,
  opts: { rate?: number; channels?: number; codec?: string[]; /** shifts the pitch, for distinct content */ variant?: number } = {},
): string {
  const rate = opts.rate ?? 44100;
  const ch = opts.channels ?? 2;
  const f0 = 220 + 7 * (opts.variant ?? 0);
  const exprs = Array.from({ length: ch }, (_, c) => `0.3*sin(2*PI*${f0 * (c + 1)}*t)+0.05*sin(2*PI*${3000 + 500 * c}*t)`).join('|');
  ffmpeg(['-f', 'lavfi', '-i', `aevalsrc=exprs='${exprs}':s=${rate}:d=${seconds}`, ...(opts.codec ?? []), file]);
  return file;
}

/** Keeps the first `fraction` of the file's bytes (a download or copy that stopped part way). */
export function truncate(src: string, dst: string, fraction: number): string {
  const buf = fs.readFileSync(src);
  fs.writeFileSync(dst, buf.subarray(0, Math.floor(buf.length * fraction)));
  return dst;
}

export interface Wav {
  sampleRate: number;
  channels: number;
  bits: number;
  format: 'float' | 'pcm';
  /** planar [channels][frames] */
  data: Float32Array[];
}

/** Overwrites samples of a 32-bit float WAV in place: [interleaved sample index, value] pairs
 * (stereo: index = frame·2 + channel). For planting NaN/Inf samples in a real file. */
export function writeFloatSamples(file: string, samples: Iterable<readonly [number, number]>): void {
  const b = fs.readFileSync(file);
  let data = -1;
  for (let off = 12; off + 8 <= b.length; ) {
    const size = b.readUInt32LE(off + 4);
    if (b.toString('ascii', off, off + 4) === 'data') {
      data = off + 8;
      break;
    }
    off += 8 + size + (size & 1);
  }
  if (data < 0) throw new Error(`${file}: no data chunk`);
  for (const [index, value] of samples) b.writeFloatLE(value, data + index * 4);
  fs.writeFileSync(file, b);
}

/** Minimal RIFF/WAVE reader (PCM 16/24/32, float 32, WAVE_FORMAT_EXTENSIBLE). */
export function readWav(file: string): Wav {
  const b = fs.readFileSync(file);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file}: not a RIFF/WAVE file`);
  let off = 12;
  let fmt: { tag: number; channels: number; rate: number; bits: number } | null = null;
  let data: Buffer | null = null;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      let tag = b.readUInt16LE(body);
      if (tag === 0xfffe) tag = b.readUInt16LE(body + 24);
      fmt = { tag, channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (body + size > b.length) throw new Error(`${file}: data chunk claims ${size} bytes, file has ${b.length - body}`);
      data = b.subarray(body, body + size);
      break;
    }
    off = body + size + (size & 1);
  }
  if (!fmt || !data) throw new Error(`${file}: missing fmt or data chunk`);
  const bytes = fmt.bits / 8;
  const frames = Math.floor(data.length / (bytes * fmt.channels));
  if (frames * bytes * fmt.channels !== data.length) throw new Error(`${file}: data size is not a whole number of frames`);
  const out = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++)
    for (let c = 0; c < fmt.channels; c++) {
      const p = (i * fmt.channels + c) * bytes;
      let v: number;
      if (fmt.tag === 3 && fmt.bits === 32) v = data.readFloatLE(p);
      else if (fmt.bits === 16) v = data.readInt16LE(p) / 32768;
      else if (fmt.bits === 24) v = data.readIntLE(p, 3) / 8388608;
      else if (fmt.bits === 32) v = data.readInt32LE(p) / 2147483648;
      else throw new Error(`${file}: unsupported ${fmt.bits}-bit format ${fmt.tag}`);
      out[c][i] = v;
    }
  return { sampleRate: fmt.rate, channels: fmt.channels, bits: fmt.bits, format: fmt.tag === 3 ? 'float' : 'pcm', data: out };
}

/** Every file under `dir` (relative paths), recursively; [] if it does not exist. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else out.push(path.relative(dir, f));
    }
  };
  walk(dir);
  return out.sort();
}

/** After a failed/cancelled job: nothing at all in `dir` (no stems, no temp files left behind). */
export function assertNothingLeft(dir: string, what = 'output folder'): void {
  const files = listFiles(dir);
  if (files.length) throw new Error(`the ${what} should be empty after a failed job but holds: ${files.join(', ')}`);
}

export function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, x.length));
}

export function allFinite(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** Runs a TypeScript snippet file in a fresh Node process (tsx), for things that must not share our process. */
export function nodeTs(args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof spawnSync> {
  return spawnSync(execPath, ['--import', 'tsx', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

/** Tries to mount a tmpfs at `dir` (root only, where permitted). Returns an unmount function or null. */
export function tryMountTmpfs(dir: string, options: string): (() => void) | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return () => {
    spawnSync('umount', ['-l', dir]);
  };
}
