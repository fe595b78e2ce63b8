/** Shared helpers for engine tests: temp dirs, synthetic signals, error measures, ffmpeg fixtures. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locateFfmpeg } from '../../src-main/engine/ffmpeg.js';

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const fixtureModel = (id: string): string => path.join(repoRoot, 'test', 'fixtures', 'models', id, 'manifest.json');
export const realClip = path.resolve(repoRoot, '..', 'shared', 'eval', 'musdb18-7s', 'Music Delta - 80s Rock.stem.mp4');

/** Whether this run is CI's (CI=true, as GitHub Actions and most CI services set it). */
export const inCi = !!process.env.CI && !/^(false|0)$/i.test(process.env.CI);
const missingShared = new Set<string>();

/**
 * The `skip` option of a test that needs `file` from ../shared (the real eval clip): a reason to
 * skip when it is missing on a developer's machine; under CI a missing file also registers a
 * failing test (once per file), so CI cannot pass without having run the real-clip tests.
 */
export function skipUnlessShared(file: string): string | false {
  if (fs.existsSync(file)) return false;
  const rel = path.relative(repoRoot, file);
  if (inCi && !missingShared.has(file)) {
    missingShared.add(file);
    test(`CI has the shared file ${rel}`, () => {
      assert.fail(`${rel} is missing: CI must provide ../shared/eval so the real-clip tests run (they were skipped).`);
    });
  }
  return `${rel} missing`;
}

const created: string[] = [];
// Temp dirs (inputs, stems, homes) are removed when the test process ends; keep them with STEMDECK_KEEP_TMP=1.
process.on('exit', () => {
  if (process.env.STEMDECK_KEEP_TMP) return;
  for (const d of created) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'stemdeck-engine-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

/** Sets STEMDECK_HOME to a fresh temp dir (so registry caches never touch the real home). */
export function isolateHome(): string {
  const home = tempDir('stemdeck-home-');
  process.env.STEMDECK_HOME = home;
  return home;
}

/** Deterministic stereo test music: a few sines + noise, planar [2][n]. */
export function testSignal(n: number, sampleRate = 44100, seed = 7): Float32Array[] {
  let s = seed;
  const out = [new Float32Array(n), new Float32Array(n)];
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const noise = (s / 0x7fffffff - 0.5) * 0.1;
    const t = i / sampleRate;
    out[0][i] = 0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.2 * Math.sin(2 * Math.PI * 1234.5 * t) + noise;
    out[1][i] = 0.25 * Math.sin(2 * Math.PI * 330 * t + 1) + 0.15 * Math.sin(2 * Math.PI * 5000 * t) - noise;
  }
  return out;
}

/** Error of b relative to a in dB: 10·log10(Σ(a−b)² / Σa²), over [from, to). */
export function errorDb(a: Float32Array[], b: Float32Array[], from = 0, to = a[0].length): number {
  let e = 0;
  let p = 0;
  for (let c = 0; c < a.length; c++)
    for (let i = from; i < to; i++) {
      const d = a[c][i] - b[c][i];
      e += d * d;
      p += a[c][i] * a[c][i];
    }
  if (e === 0) return -Infinity;
  return 10 * Math.log10(e / Math.max(p, 1e-30));
}

/** Runs the project's ffmpeg; returns what it wrote to stdout (`pipe:1` outputs); throws with its stderr on failure. */
export function ffmpeg(args: string[]): Buffer {
  const r = spawnSync(locateFfmpeg().path, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

export function listFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}
