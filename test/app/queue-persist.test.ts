/**
 * The queue survives the app: queued jobs are saved atomically (queue.json) and run after a restart;
 * a job that was running when the app died comes back as failed with a message, ready to retry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { isolatedHome, makeSong, tempDir, waitFor, waitJobEnd } from './helpers.js';

test('queued jobs survive a restart; an interrupted job comes back failed and retryable', async () => {
  const home = isolatedHome();
  const media = tempDir('stemdeck-app-');
  const a = makeSong(path.join(media, 'a.flac'), 60, 'Interrupted', 330);
  const b = makeSong(path.join(media, 'b.wav'), 2, 'Waiting', 440);

  const first = new App({ shell: 'browser' });
  await first.start();
  await first.settings.set({ model: 'identity-waveform' });
  first.guard.choose(a);
  first.guard.choose(b);
  const r = await first.openFiles([a, b], undefined);
  assert.equal(r.jobs.length, 2);
  const [ja, jb] = r.jobs;
  await waitFor(first, (j) => j.id === ja.id && j.status === 'running' && j);
  // The app goes away while job A runs (its host is killed with it) — simulate by dropping the
  // instance without a clean stop: kill the engine host and do not wait for the queue to move on.
  const read = () => JSON.parse(fs.readFileSync(path.join(home, 'queue.json'), 'utf8')) as { job: { id: string; status: string } }[];
  const t0 = Date.now();
  while (read().find((x) => x.job.id === ja.id)?.job.status !== 'running' && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 20));
  const saved = read();
  assert.equal(saved.find((x) => x.job.id === ja.id)?.job.status, 'running');
  assert.equal(saved.find((x) => x.job.id === jb.id)?.job.status, 'queued');
  await first.stop();

  // Rewrite the saved state as it was at the moment of the "crash" (stop() may have let A finish).
  fs.writeFileSync(path.join(home, 'queue.json'), JSON.stringify(saved));
  fs.rmSync(first.library.root, { recursive: true, force: true });

  const second = new App({ shell: 'browser' });
  const seen = new Map<string, string>();
  second.on('event', (name, p) => {
    if (name === 'job') seen.set((p as { id: string }).id, (p as { status: string }).status);
  });
  await second.start();
  try {
    const jobs = second.host.list();
    const a2 = jobs.find((j) => j.id === ja.id)!;
    assert.equal(a2.status, 'failed');
    assert.equal(a2.error?.code, 'engine-crashed');
    assert.match(a2.error?.message ?? '', /Retry/);
    const b2 = await waitJobEnd(second, jb.id);
    assert.equal(b2.status, 'done', JSON.stringify(b2.error));
    second.host.retry(ja.id);
    const a3 = await waitJobEnd(second, ja.id, 120_000);
    assert.equal(a3.status, 'done', JSON.stringify(a3.error));
    assert.deepEqual(
      second.library
        .list()
        .map((s) => s.title)
        .sort(),
      ['Interrupted', 'Waiting'],
    );
  } finally {
    await second.stop();
  }
});

test('quitting while a job runs puts it back in the queue; it runs at the next start', async () => {
  isolatedHome();
  const media = tempDir('stemdeck-app-');
  const a = makeSong(path.join(media, 'quit.flac'), 60, 'Quit Mid-Job', 550);
  const first = new App({ shell: 'browser' });
  await first.start();
  await first.settings.set({ model: 'identity-waveform' });
  first.guard.choose(a);
  const r = await first.openFiles([a], undefined);
  const id = r.jobs[0].id;
  await waitFor(first, (j) => j.id === id && j.status === 'running' && j.stage === 'separate' && j);
  await first.stop();
  assert.equal(first.host.list()[0].status, 'queued');
  const second = new App({ shell: 'browser' });
  await second.start();
  try {
    const done = await waitJobEnd(second, id, 120_000);
    assert.equal(done.status, 'done', JSON.stringify(done.error));
    assert.equal(second.library.list()[0].title, 'Quit Mid-Job');
  } finally {
    await second.stop();
  }
});
