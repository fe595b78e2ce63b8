/**
 * Entry of the browser shell (`npm start` without the Electron binary):
 *   tsx src-main/shells/browser/main.ts [--port N] [--renderer DIR] [--no-open]
 * Prints the URL (with the session token) and one JSON line `{"url": …}` for scripts/tests.
 */
import path from 'node:path';
import fs from 'node:fs';
import { App } from '../../host/app.js';
import { appRoot } from '../../engine/paths.js';
import { startBrowserShell } from './server.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const rendererDir = arg('--renderer') ?? path.join(appRoot(), 'out', 'renderer');
  const app = new App({ shell: 'browser' });
  await app.start();
  const shell = await startBrowserShell({
    app,
    rendererDir: fs.existsSync(path.join(rendererDir, 'index.html')) ? rendererDir : null,
    port: Number(arg('--port') ?? process.env.STEMDECK_PORT ?? 0),
  });
  process.stdout.write(`Stemdeck is running in the browser shell (the Electron binary is not installed).\n`);
  process.stdout.write(`Open ${shell.url}\n`);
  process.stdout.write(`${JSON.stringify({ url: shell.url, origin: shell.origin, token: shell.token })}\n`);
  const stop = async () => {
    await shell.close();
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
