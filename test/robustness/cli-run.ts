/**
 * Runs the real `stemdeck` bin (node bin/stemdeck.js) in a fresh temp app-data folder, with a time
 * limit: a command that hangs is killed (SIGKILL) and reported as `timedOut`, so a test fails on it
 * instead of hanging.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot } from './helpers.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** stdout lines that are JSON objects. */
  json: Record<string, unknown>[];
}

export function stemdeck(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'stemdeck-cli-home-'));
  const env: NodeJS.ProcessEnv = { ...process.env, STEMDECK_HOME: home };
  for (const k of ['STEMDECK_MODELS', 'STEMDECK_BUNDLED_MODELS', 'STEMDECK_LIBRARY']) delete env[k];
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'stemdeck.js'), ...args], {
      cwd: opts.cwd ?? repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.rmSync(home, { recursive: true, force: true });
      const json: Record<string, unknown>[] = [];
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          json.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a JSON line
        }
      }
      resolve({ code, stdout, stderr, timedOut, json });
    });
  });
}
