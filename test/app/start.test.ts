/**
 * `npm start` without the Electron binary: tries to download it once (electron's own install
 * script; here against a mirror that refuses, as offline), then starts the browser shell, says so,
 * prints the URL with the session token; the API answers there with the token and refuses without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { repoRoot, tempDir } from './helpers.js';

test('npm start: Electron cannot be downloaded → the browser shell, and its URL', async (t) => {
  // electron's path.txt exists once its binary was downloaded
  if (fs.existsSync(path.join(repoRoot, 'node_modules', 'electron', 'path.txt'))) return t.skip('the Electron binary is installed here: npm start opens it');
  const home = tempDir('stemdeck-start-');
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.js'), '--no-build', '--port', '0'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      STEMDECK_HOME: home,
      STEMDECK_LIBRARY: path.join(home, 'library'),
      STEMDECK_MODELS: path.join(home, 'models'),
      // a port nothing listens on: the download fails at once, as it does offline
      ELECTRON_MIRROR: 'http://127.0.0.1:9/',
      electron_config_cache: tempDir('stemdeck-electron-cache-'),
    },
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
    assert.ok(fs.existsSync(path.join(repoRoot, 'node_modules', 'electron', 'install.js')), 'electron (a devDependency) is installed');
    assert.match(out, /downloading Electron's binary/);
    assert.match(out, /Electron could not be downloaded/);
    assert.match(out, /browser shell/);
    assert.doesNotMatch(out, /npm warn|Error:|at .*\(node:/, 'no warnings or stack traces');
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
