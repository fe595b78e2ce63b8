/**
 * The app as the end-to-end tests drive it: a temp app-data folder (STEMDECK_HOME, STEMDECK_LIBRARY,
 * STEMDECK_MODELS), fixture models installed as user models, the renderer built by Vite, the real
 * App served by the browser shell on a random port, and a real headless Chromium.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'puppeteer-core';
import type { App } from '../../src-main/host/app.js';
import type { BrowserShell } from '../../src-main/shells/browser/server.js';
import { launchChromium } from './chromium.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The ffmpeg the tests make their songs with: STEMDECK_FFMPEG, else the bundled one, else ffmpeg on the PATH. */
export function ffmpegPath(): string {
  const bundled = path.join(repoRoot, 'node_modules', '@ffmpeg-installer', 'linux-x64', 'ffmpeg');
  return process.env.STEMDECK_FFMPEG ?? (fs.existsSync(bundled) ? bundled : 'ffmpeg');
}

export interface BrowserAppOptions {
  /** Names the temp folder: stemdeck-e2e-<name>-… */
  name: string;
  /** Fixture models (test/fixtures/models/<id>) installed as user models. */
  models?: string[];
  /** Minify the renderer build (default false: page errors then quote readable code). */
  minify?: boolean;
  /** Chromium saves downloads without asking into `downloads` (<tmp>/downloads). */
  downloads?: boolean;
}

export interface BrowserApp {
  tmp: string;
  home: string;
  /** Where Chromium saves downloads; null unless the `downloads` option was set. */
  downloads: string | null;
  app: App;
  shell: BrowserShell;
  browser: Browser;
  /** Seconds the renderer build took. */
  buildSeconds: number;
  /** Closes Chromium, the shell and the app; removes the temp folder (kept with STEMDECK_KEEP_TMP=1). */
  close(): Promise<void>;
}

export async function startBrowserApp(options: BrowserAppOptions): Promise<BrowserApp> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), `stemdeck-e2e-${options.name}-`));
  const home = path.join(tmp, 'home');
  const models = path.join(home, 'models');
  process.env.STEMDECK_HOME = home;
  process.env.STEMDECK_LIBRARY = path.join(home, 'library');
  process.env.STEMDECK_MODELS = models;
  let app: App | null = null;
  let shell: BrowserShell | null = null;
  let browser: Browser | null = null;
  // every step runs and none throws: a failure here must not hide the test's own
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await shell?.close().catch(() => undefined);
    await app?.stop().catch(() => undefined);
    if (!process.env.STEMDECK_KEEP_TMP) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await fsp.mkdir(models, { recursive: true });
    for (const id of options.models ?? []) await fsp.cp(path.join(repoRoot, 'test', 'fixtures', 'models', id), path.join(models, id), { recursive: true });

    const rendererDir = path.join(tmp, 'renderer');
    const buildStarted = Date.now();
    const { build } = await import('vite');
    await build({ configFile: path.join(repoRoot, 'vite.renderer.config.ts'), build: { outDir: rendererDir, emptyOutDir: true, minify: options.minify ?? false }, logLevel: 'error' });
    const buildSeconds = (Date.now() - buildStarted) / 1000;

    // loaded only now that the STEMDECK_* folders point into the temp folder
    const { App } = await import('../../src-main/host/app.js');
    const { startBrowserShell } = await import('../../src-main/shells/browser/server.js');
    const started = new App({ shell: 'browser' });
    app = started;
    await started.start();
    const served = await startBrowserShell({ app: started, rendererDir, port: 0 });
    shell = served;
    const downloads = options.downloads ? path.join(tmp, 'downloads') : null;
    if (downloads) await fsp.mkdir(downloads, { recursive: true });
    const launched = await launchChromium(downloads ? { downloadDir: downloads } : {});
    browser = launched;
    return { tmp, home, downloads, app: started, shell: served, browser: launched, buildSeconds, close };
  } catch (e) {
    await close();
    throw e;
  }
}
