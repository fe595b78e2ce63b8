// The app's own state files survive a kill at any moment (issue 7 §4): a child rewrites
// settings.json (SettingsStore), queue.json and a song.json (writeJsonAtomic, A1's
// src-main/engine/output/atomic.ts) in a tight loop; we SIGKILL it at random moments, then every file
// must parse and carry a matching checksum (never torn, never empty), and the temp files a killed
// writer leaves are hidden and removed by removeStaleTemps / Library.init.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { removeStaleTemps } from '../../src-main/engine/output/atomic.js';
import { SettingsStore } from '../../src-main/host/settings.js';
import { DEFAULT_SETTINGS, SettingsSchema } from '../../src-main/api/contract.js';
import { tempDir } from './helpers.js';

const home = tempDir('stemdeck-atomic-');
after(() => fs.rmSync(home, { recursive: true, force: true }));

const songId = 'song-0123456789abcdef';
const child = path.join(import.meta.dirname, 'children', 'state-writer.ts');

function checkPayload(file: string): void {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.length > 0, `${path.basename(file)} is not empty`);
  const j = JSON.parse(text) as { i: number; blob: string; sha: string };
  assert.equal(createHash('sha256').update(j.blob).digest('hex'), j.sha, `${path.basename(file)} is whole`);
}

test('state files parse after SIGKILL at 10 random moments', async () => {
  fs.mkdirSync(path.join(home, songId), { recursive: true });
  let leftovers = 0;
  for (let k = 0; k < 10; k++) {
    const cp = fork(child, [home, home, songId], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      cp.once('message', () => resolve());
      cp.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    // let it write for 20–400 ms, then kill it wherever it is
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 380));
    const exited = new Promise((r) => cp.once('exit', r));
    cp.kill('SIGKILL');
    await exited;
    for (const f of ['queue.json', path.join(songId, 'song.json')]) {
      const file = path.join(home, f);
      if (fs.existsSync(file)) checkPayload(file);
    }
    if (fs.existsSync(path.join(home, 'settings.json'))) {
      const raw = JSON.parse(fs.readFileSync(path.join(home, 'settings.json'), 'utf8'));
      assert.ok(SettingsSchema.safeParse(raw).success, 'settings.json is valid');
    }
    // temp files of the killed writer are hidden dot-files, never the real names
    for (const dir of [home, path.join(home, songId)])
      for (const name of fs.readdirSync(dir)) {
        if (name.endsWith('.tmp')) {
          leftovers++;
          assert.ok(name.startsWith('.'), `temp file ${name} is hidden`);
        }
      }
  }
  assert.ok(fs.existsSync(path.join(home, 'queue.json')), 'the writer got to write at all');
  // the loader still works and the temps are cleaned up
  const s = await new SettingsStore(path.join(home, 'settings.json')).load();
  assert.equal(Object.keys(s).sort().join(), Object.keys(DEFAULT_SETTINGS).sort().join());
  await removeStaleTemps(home);
  await removeStaleTemps(path.join(home, songId));
  for (const dir of [home, path.join(home, songId)])
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'stale temps removed');
  void leftovers;
});

test('the check can fail: a plain (non-atomic) writer is caught torn', async () => {
  // Control for the test above: writeFileSync truncates then writes, so a reader racing it sees a
  // torn or empty file. We read while it writes instead of killing, which is deterministic enough.
  const file = path.join(home, 'plain.json');
  const blob = 'x'.repeat(8 << 20);
  const whole = JSON.stringify({ blob, sha: createHash('sha256').update(blob).digest('hex') });
  fs.writeFileSync(file, whole); // a valid file first: only torn reads count below, not a missing file
  checkPayload(file);
  let torn = 0;
  const writer = (async () => {
    for (let i = 0; i < 30; i++) {
      await fs.promises.writeFile(file, whole);
    }
  })();
  for (let i = 0; i < 2000 && torn === 0; i++) {
    try {
      checkPayload(file);
    } catch {
      torn++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await writer;
  assert.ok(torn > 0, 'a non-atomic writer is detected as torn');
});
