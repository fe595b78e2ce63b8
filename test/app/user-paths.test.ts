/**
 * Messages name the user's file, never its upload copy under <app data>/imports/<hex>/ (issue
 * 14.7): a dropped file that is not audio fails its job; the job event, queue.list, the refused
 * Retry and a model import of a damaged .onnx all say "<name>", with no imports folder in sight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { App } from '../../src-main/host/app.js';
import { createDispatcher, type Job } from '../../src-main/api/contract.js';
import { isolatedHome, waitFor } from './helpers.js';

test('errors about an uploaded file name the file, not imports/<hash>/', async () => {
  isolatedHome();
  const app = new App({ shell: 'browser' });
  await app.start();
  try {
    await app.settings.set({ model: 'identity-waveform' });
    const d = createDispatcher(app.handlers());
    const ctx = { shell: 'browser' as const };
    // what the browser shell's upload does with a dropped "Demo Take 3.mp3" that is really text
    const upload = await app.importPath('Demo Take 3.mp3');
    fs.writeFileSync(upload, 'This is a text file, not an MP3.\n'.repeat(200));
    const jobEvents: Job[] = [];
    app.on('event', (name, p) => name === 'job' && jobEvents.push(p as Job));
    const opened = await d.dispatch('files.open', { paths: [upload] }, ctx);
    assert.ok(opened.ok, JSON.stringify(opened));
    const id = (opened.result as { jobs: Job[] }).jobs[0].id;
    const failed = await waitFor(app, (j) => j.id === id && j.status === 'failed' && j);
    const raw = app.host.list().find((j) => j.id === id)!.error!.message;
    const listed = await d.dispatch('queue.list', {}, ctx);
    assert.ok(listed.ok);
    const retry = await d.dispatch('queue.retry', { id }, ctx);
    const model = await app.importPath('my-model.onnx');
    fs.writeFileSync(model, 'not an onnx file');
    const imported = await d.dispatch('models.import', { path: model }, ctx);
    const messages = {
      event: failed.error!.message,
      list: (listed.result as Job[]).find((j) => j.id === id)!.error!.message,
      retry: retry.ok ? '(retry accepted)' : retry.error.message,
      import: imported.ok ? '(import accepted)' : imported.error.message,
    };
    assert.ok(raw.includes(app.importsDir), `the engine names its input by path (what this test hides): ${raw}`);
    for (const [where, m] of Object.entries(messages)) {
      assert.doesNotMatch(m, /imports[\\/][0-9a-f]{12}/, `${where}: ${m}`);
      assert.ok(!m.includes(app.home), `${where} names the app-data folder: ${m}`);
    }
    for (const where of ['event', 'list', 'retry'] as const) assert.match(messages[where], /Demo Take 3\.mp3/, where);
    const eventMessages = jobEvents.map((j) => j.error?.message ?? '').join('\n');
    assert.ok(!eventMessages.includes(app.importsDir), 'no job event message names the upload folder');
  } finally {
    await app.stop();
  }
});
