// Child for atomic-state.test.ts: rewrites the app's state files in a tight loop until killed.
// argv: <app data dir> <library dir> <song id>
// Each JSON payload carries its own length and a checksum, so a torn file is detected.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { writeJsonAtomic } from '../../../src-main/engine/output/atomic.js';
import { SettingsStore } from '../../../src-main/host/settings.js';

const [home, , songId] = process.argv.slice(2);
const settings = new SettingsStore(path.join(home, 'settings.json'));

function payload(i: number): { i: number; blob: string; sha: string } {
  // 1 KiB … 600 KiB, so a write takes long enough to be hit by a kill
  const blob = String(i % 10).repeat(1024 * (1 + ((i * 37) % 600)));
  return { i, blob, sha: createHash('sha256').update(blob).digest('hex') };
}

let i = 0;
process.send?.('started');
for (;;) {
  i++;
  await writeJsonAtomic(path.join(home, 'queue.json'), payload(i));
  await settings.set({ overlap: (i % 9) / 10, device: i % 2 ? "cpu" : "auto" });
  await writeJsonAtomic(path.join(home, songId, 'song.json'), payload(i + 1));
}
