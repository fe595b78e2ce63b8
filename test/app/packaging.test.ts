/**
 * Packaging cannot run here (it downloads Electron), so its configuration is checked instead:
 * electron-builder.yml passes electron-builder's own schema validation, has the Linux (AppImage,
 * deb), Windows (NSIS) and macOS (dmg) targets, the icons it names exist with the right sizes
 * (≤ 300 KB together), and the files it packages are the ones electron-vite builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot } from './helpers.js';

const require = createRequire(import.meta.url);

function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

async function loadConfig(): Promise<Record<string, any>> {
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
    getConfig(dir: string, file: string | null, opts: null): Promise<Record<string, any>>;
    validateConfiguration(c: unknown, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  const config = await getConfig(repoRoot, path.join(repoRoot, 'electron-builder.yml'), null);
  await validateConfiguration(config, new DebugLogger(false));
  return config;
}

test('electron-builder.yml passes electron-builder validation and has all targets', async () => {
  const c = await loadConfig();
  assert.equal(c.appId, 'org.stemdeck.app');
  assert.equal(c.productName, 'Stemdeck');
  const targets = (x: any): string[] => (x.target as any[]).map((t) => (typeof t === 'string' ? t : t.target));
  assert.deepEqual(targets(c.linux).sort(), ['AppImage', 'deb']);
  assert.deepEqual(targets(c.win), ['nsis']);
  assert.deepEqual(targets(c.mac), ['dmg']);
  assert.ok(c.linux.maintainer, 'deb needs a maintainer');
  const files = (c.files as (string | { filter: string[] })[]).flatMap((f) => (typeof f === 'string' ? [f] : f.filter));
  assert.ok(files.includes('out/**/*'), JSON.stringify(files));
  assert.ok((c.asarUnpack as string[]).some((p) => p.includes('onnxruntime-node')));
  assert.equal(c.directories.buildResources, 'build');
});

test('the icons exist, have the right sizes and stay small', async () => {
  const c = await loadConfig();
  const winIcon = path.join(repoRoot, c.win.icon);
  const macIcon = path.join(repoRoot, c.mac.icon);
  assert.ok(pngSize(winIcon).width >= 256, 'Windows needs ≥ 256 px');
  assert.ok(pngSize(macIcon).width >= 512, 'macOS needs ≥ 512 px');
  const dir = path.join(repoRoot, c.linux.icon);
  const sizes = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .map((f) => {
      const { width, height } = pngSize(path.join(dir, f));
      assert.equal(f, `${width}x${height}.png`, 'Linux icon files are named by their size');
      return width;
    });
  for (const s of [16, 32, 48, 64, 128, 256, 512]) assert.ok(sizes.includes(s), `${s}x${s}.png`);
  const total = fs.readdirSync(path.join(repoRoot, 'build'), { recursive: true }).reduce((n: number, f) => {
    const p = path.join(repoRoot, 'build', String(f));
    return n + (fs.statSync(p).isFile() ? fs.statSync(p).size : 0);
  }, 0);
  assert.ok(total <= 300 * 1024, `build/ is ${total} bytes`);
});

test('package.json main is the electron-vite main entry; the config builds main, worker and preload', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };
  assert.equal(pkg.main, 'out/main/index.js');
  assert.match(pkg.scripts.build, /electron-vite build/);
  const cfg = fs.readFileSync(path.join(repoRoot, 'electron.vite.config.ts'), 'utf8');
  for (const entry of ['src-main/electron/main.ts', 'src-main/host/worker.ts', 'src-main/electron/preload.ts', 'src-renderer/index.html'])
    assert.ok(cfg.includes(entry), entry);
  assert.match(cfg, /format: 'cjs'/, 'the sandboxed preload is CommonJS');
  // main.ts loads the preload that the config emits.
  const main = fs.readFileSync(path.join(repoRoot, 'src-main', 'electron', 'main.ts'), 'utf8');
  assert.match(main, /'preload', 'index\.cjs'/);
  assert.match(main, /sandbox: true/);
  assert.match(main, /contextIsolation: true/);
  assert.match(main, /nodeIntegration: false/);
});
