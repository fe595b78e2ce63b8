/**
 * The browser shell opened without its session token (or with an earlier session's) shows one
 * message that says how to open the app — not an empty library, banners and "Engine ready"
 * (issue 14.8). Real Chromium against the real browser shell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the app address without its token says how to open the app', async () => {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'stemdeck-e2e-token-'));
  process.env.STEMDECK_HOME = path.join(tmp, 'home');
  process.env.STEMDECK_MODELS = path.join(tmp, 'home', 'models');
  const rendererDir = path.join(tmp, 'renderer');
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'vite.renderer.config.ts'), build: { outDir: rendererDir, emptyOutDir: true }, logLevel: 'error' });
  const { App } = await import('../../src-main/host/app.js');
  const { startBrowserShell } = await import('../../src-main/shells/browser/server.js');
  const app = new App({ shell: 'browser' });
  await app.start();
  const shell = await startBrowserShell({ app, rendererDir, port: 0 });
  const browser = await launchChromium();
  try {
    const origin = new URL(shell.url).origin;
    const text = async (url: string) => {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForSelector('main');
      await new Promise((r) => setTimeout(r, 500)); // let the app's first calls answer
      const t = await page.$eval('body', (b) => (b as HTMLElement).innerText);
      await page.close();
      return t;
    };
    for (const url of [`${origin}/`, `${origin}/#token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`]) {
      const t = await text(url);
      assert.match(t, /Open Stemdeck with the address npm start printed/, url);
      assert.match(t, /#token=/);
      assert.doesNotMatch(t, /Engine ready|No models installed|Your separated songs/, `${url}:\n${t}`);
    }
    const ok = await text(shell.url);
    assert.doesNotMatch(ok, /Open Stemdeck with the address/);
  } finally {
    await browser.close();
    await shell.close();
    await app.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
});
