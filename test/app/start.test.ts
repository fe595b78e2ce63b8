/**
 * `npm start` without the Electron binary: starts the browser shell, says so, prints the URL with
 * the session token; the API answers there with the token and refuses without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot, tempDir } from './helpers.js';

test('npm start falls back to the browser shell and prints its URL', async () => {
  const home = tempDir('stemdeck-start-');
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.js'), '--browser', '--no-build', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, STEMDECK_HOME: home, STEMDECK_LIBRARY: path.join(home, 'library'), STEMDECK_MODELS: path.join(home, 'models') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const info = await new Promise<{ url: string; origin: string; token: string }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL printed within 45 s:\n${out}`)), 45_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{"url"'));
        if (line) {
          clearTimeout(t);
          resolve(JSON.parse(line));
        }
      });
      child.on('exit', (code) => reject(new Error(`start.js exited (${code}):\n${out}`)));
    });
    assert.match(out, /browser shell/);
    assert.match(out, /Electron/);
    assert.match(out, /Open http:\/\/127\.0\.0\.1:\d+\/#token=/);
    assert.ok(info.url.startsWith(`${info.origin}/#token=${info.token}`));
    const ok = await fetch(`${info.origin}/api/doctor.info`, { method: 'POST', headers: { 'x-stemdeck-token': info.token }, body: '{}' });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { ok: boolean; result: { shell: string; paths: { appData: string } } };
    assert.equal(body.result.shell, 'browser');
    assert.equal(body.result.paths.appData, home);
    const no = await fetch(`${info.origin}/api/doctor.info`, { method: 'POST', body: '{}' });
    assert.equal(no.status, 401);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});
