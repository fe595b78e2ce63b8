/** Helpers for the CLI tests: run the real `stemdeck` bin (node bin/stemdeck.js) in a temp home. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { locateFfmpeg } from '../../src-main/engine/ffmpeg.js';

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const bin = path.join(repoRoot, 'bin', 'stemdeck.js');
export const clipDir = path.resolve(repoRoot, '..', 'shared', 'eval', 'musdb18-7s');
export const realClip = path.join(clipDir, 'Music Delta - 80s Rock.stem.mp4');
export const fixtureModel = (id: string): string => path.join(repoRoot, 'test', 'fixtures', 'models', id, 'manifest.json');

const created: string[] = [];
// Temp dirs (inputs, outputs, CLI homes) are removed when the test process ends; keep them with STEMDECK_KEEP_TMP=1.
process.on('exit', () => {
  if (process.env.STEMDECK_KEEP_TMP) return;
  for (const d of created) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'stemdeck-cli-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines parsed as JSON (lines that are not JSON are skipped). */
  json: Record<string, unknown>[];
}

/** Runs `stemdeck …` with STEMDECK_HOME in a temp dir (stdout/stderr are pipes: not a TTY). */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const home = tempDir('stemdeck-home-');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, STEMDECK_HOME: home, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const json: Record<string, unknown>[] = [];
      for (const line of stdout.split('\n')) {
        if (!line.trim().startsWith('{')) continue;
        try {
          json.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a JSON line
        }
      }
      fs.rmSync(home, { recursive: true, force: true });
      resolve({ code, stdout, stderr, json });
    });
  });
}

export function ffmpeg(args: string[]): void {
  const r = spawnSync(locateFfmpeg().path, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** Generated test music (two tones + noise) of exactly `frames` frames at `rate`, any container ffmpeg writes. */
export function makeAudio(file: string, frames: number, rate = 44100, channels = 2): void {
  const left = '0.3*sin(2*PI*220*t)+0.2*sin(2*PI*1234.5*t)+0.1*(random(0)-0.5)';
  const right = '0.25*sin(2*PI*330*t+1)+0.15*sin(2*PI*5000*t)+0.1*(random(1)-0.5)';
  const expr = channels === 1 ? left : `${left}|${right}`;
  ffmpeg(['-f', 'lavfi', '-i', `aevalsrc=${expr}:s=${rate},atrim=end_sample=${frames}`, '-ar', String(rate), file]);
}
