/**
 * The browser shell opened without its session token (or with an earlier session's) shows one
 * message that says how to open the app — not an empty library, banners and "Engine ready"
 * (issue 14.8). Real Chromium against the real browser shell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowserApp } from './browser-app.js';

test('the app address without its token says how to open the app', async () => {
  const e2e = await startBrowserApp({ name: 'token', minify: true });
  const { shell, browser } = e2e;
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
    await e2e.close();
  }
});
