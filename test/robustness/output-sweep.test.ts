// Leftovers of killed exports are swept when the app starts (issue 12 §10): a real child process
// exporting into the app's exports folder is SIGKILLed while its temp file or its NI Stems work
// folder exists; App.start() removes them and keeps the finished exports.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { writeAudio } from '../../src-main/engine/index.js';
import { isolatedHome, tempDir } from '../app/helpers.js';

const child = path.join(import.meta.dirname, 'children', 'export-loop.ts');
let app: App | null = null;
after(async () => {
  await app?.stop();
});

/** Kills a child exporting into `outDir` as soon as `pred` holds for the folder's names. */
async function killWhen(outDir: string, stems: string[], pred: (names: string[]) => boolean): Promise<string[]> {
  const cp = fork(child, [outDir, ...stems], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((r) => cp.once('exit', r));
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      const names = fs.existsSync(outDir) ? fs.readdirSync(outDir) : [];
      if (pred(names)) return names;
      assert.ok(Date.now() < deadline && cp.exitCode === null, `the export never reached the state to kill in: ${names.join(', ')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    cp.kill('SIGKILL');
    await exited;
  }
}

test('App.start removes the temp files and NI work folders of exports a kill cut short', async () => {
  const home = isolatedHome();
  const src = tempDir();
  const n = 44100 * 40;
  const stems: string[] = [];
  for (const [i, name] of ['vocals', 'drums', 'bass', 'other'].entries()) {
    const x = [Float32Array.from({ length: n }, (_, k) => 0.1 * Math.sin(k / (10 + i))), new Float32Array(n).fill(0.01 * i)];
    stems.push(path.join(src, `${name}.wav`));
    await writeAudio(stems[i], x, 44100, 'wav');
  }
  const exportDir = path.join(home, 'exports', 'Song 2026-01-01T00-00-00');
  const hidden = (names: string[]): string[] => names.filter((x) => x.startsWith('.'));
  const afterPart = await killWhen(exportDir, stems, (names) => names.some((x) => x.endsWith('.part')));
  const afterNi = await killWhen(exportDir, stems, (names) => names.some((x) => x.startsWith('.ni-')));
  const left = hidden(fs.readdirSync(exportDir));
  assert.ok(left.some((x) => x.endsWith('.part')), `a temp file was left: ${afterPart.join(', ')} → ${left.join(', ')}`);
  assert.ok(left.some((x) => x.startsWith('.ni-')), `an NI work folder was left: ${afterNi.join(', ')} → ${left.join(', ')}`);
  const finished = fs.readdirSync(exportDir).filter((x) => !x.startsWith('.'));
  app = new App({ shell: 'browser' });
  await app.start();
  assert.deepEqual(hidden(fs.readdirSync(exportDir)), [], 'no leftovers after start-up');
  assert.deepEqual(
    fs.readdirSync(exportDir).filter((x) => !x.startsWith('.')),
    finished,
    'finished exports are kept',
  );
});
