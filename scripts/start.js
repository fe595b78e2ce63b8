#!/usr/bin/env node
// `npm start`: opens the Electron app. electron is a devDependency whose install script is not
// run by `npm install` (package.json allowScripts: offline its download would fail the whole
// install), so the first start downloads its binary (node_modules/electron/install.js); when that
// cannot be done (offline, GitHub unreachable) it builds the renderer (if it is missing or older
// than its sources) and starts the browser shell on 127.0.0.1, printing the URL with the session
// token.
//   npm start -- --browser        force the browser shell
//   npm start -- --port 5177      fixed port for the browser shell
//   npm start -- --no-build       never build, serve what is in out/renderer
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const has = (f) => args.includes(f);

/** Path of the Electron binary, or null (package absent, or its binary never downloaded). */
export function electronBinary() {
  const pkg = path.join(root, 'node_modules', 'electron', 'package.json');
  if (!fs.existsSync(pkg)) return null;
  try {
    const p = require('electron');
    return typeof p === 'string' && fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`stemdeck: ${path.basename(cmd)} ${argv.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

function bin(name) {
  return path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
}

function startElectron(electron) {
  const main = path.join(root, 'out', 'main', 'index.js');
  const sources = Math.max(newestMtime(path.join(root, 'src-main')), newestMtime(path.join(root, 'src-renderer')));
  if (!has('--no-build') && (!fs.existsSync(main) || fs.statSync(main).mtimeMs < sources)) {
    console.log('stemdeck: building the app (electron-vite build)…');
    run(bin('electron-vite'), ['build']);
  }
  console.log('stemdeck: starting the Electron app');
  const child = spawn(electron, [root], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
}

/**
 * Downloads Electron's binary once with the electron package's own install script (≈ 100 MB; it
 * honours ELECTRON_MIRROR and electron_config_cache). Returns the binary, or null when it cannot.
 */
function downloadElectron() {
  const install = path.join(root, 'node_modules', 'electron', 'install.js');
  if (!fs.existsSync(install) || process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return null;
  console.log("stemdeck: downloading Electron's binary for the desktop app (once, about 100 MB)…");
  const r = spawnSync(process.execPath, [install], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 600_000 });
  if (r.status === 0) return electronBinary();
  const line = (r.stderr || '').split('\n').find((l) => /error/i.test(l)) ?? (r.error ? String(r.error) : `exit ${r.status}`);
  const why = line.replace(/^\s*\w*Error:\s*/, '').trim().slice(0, 160);
  console.log(`stemdeck: Electron could not be downloaded (${why}); the next \`npm start\` tries again (\`npm start -- --browser\` does not)`);
  return null;
}

function startBrowser() {
  const rendererDir = path.join(root, 'out', 'renderer');
  const index = path.join(rendererDir, 'index.html');
  const stale = !fs.existsSync(index) || fs.statSync(index).mtimeMs < newestMtime(path.join(root, 'src-renderer'));
  if (!has('--no-build') && stale && fs.existsSync(path.join(root, 'src-renderer', 'index.html'))) {
    console.log('stemdeck: building the renderer (vite build)…');
    run(bin('vite'), ['build', '--config', 'vite.renderer.config.ts']);
  }
  const shellArgs = ['--import', 'tsx', path.join(root, 'src-main', 'shells', 'browser', 'main.ts'), '--renderer', rendererDir];
  const i = args.indexOf('--port');
  if (i >= 0 && args[i + 1]) shellArgs.push('--port', args[i + 1]);
  const child = spawn(process.execPath, shellArgs, { cwd: root, stdio: 'inherit' });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('start.js')) {
  const electron = has('--browser') ? null : (electronBinary() ?? downloadElectron());
  if (electron) startElectron(electron);
  else startBrowser();
}
