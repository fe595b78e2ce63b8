#!/usr/bin/env node
// `npm start`: opens the Electron app when its binary is present; otherwise builds the renderer
// (if it is missing or older than its sources) and starts the browser shell on 127.0.0.1, printing
// the URL with the session token.
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

function startBrowser() {
  const rendererDir = path.join(root, 'out', 'renderer');
  const index = path.join(rendererDir, 'index.html');
  const stale = !fs.existsSync(index) || fs.statSync(index).mtimeMs < newestMtime(path.join(root, 'src-renderer'));
  if (!has('--no-build') && stale && fs.existsSync(path.join(root, 'src-renderer', 'index.html'))) {
    console.log('stemdeck: building the renderer (vite build)…');
    run(bin('vite'), ['build', '--config', 'vite.renderer.config.ts']);
  }
  const electronPkg = fs.existsSync(path.join(root, 'node_modules', 'electron', 'package.json'));
  console.log('stemdeck: the Electron binary is not installed, so Stemdeck runs in the browser shell instead');
  console.log(
    electronPkg
      ? '          (to get the desktop app, download Electron once: `node node_modules/electron/install.js`, then `npm start` again)'
      : '          (to get the desktop app, download Electron once: `npm install electron --foreground-scripts`, then `npm start` again)',
  );
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
  const electron = has('--browser') ? null : electronBinary();
  if (electron) startElectron(electron);
  else startBrowser();
}
