/**
 * Launches a real headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium when
 * present (or STEMDECK_CHROMIUM), otherwise the binary shipped inside @sparticuz/chromium.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--mute-audio',
  '--autoplay-policy=no-user-gesture-required',
];

export async function chromiumPath(): Promise<string> {
  const candidates = [process.env.STEMDECK_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  for (const c of candidates) if (existsSync(c)) return c;
  const { default: chromium } = await import('@sparticuz/chromium');
  return chromium.executablePath();
}

export async function launchChromium(options: { downloadDir?: string } = {}): Promise<Browser> {
  const browser = await puppeteer.launch({
    executablePath: await chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    defaultViewport: { width: 1280, height: 800 },
    protocolTimeout: 120_000,
  });
  if (options.downloadDir) {
    const session = await browser.target().createCDPSession();
    await session.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: options.downloadDir, eventsEnabled: true });
  }
  return browser;
}
