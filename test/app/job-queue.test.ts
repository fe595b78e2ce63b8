/**
 * JobQueue, the one place a job's status changes: every status × every change, only the legal
 * ones accepted (a finished job never runs again, only Retry brings a failed or cancelled one
 * back); jobs leave it as copies, so no other code can write a status; progress never goes back;
 * the saved queue loads back with the running job failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { JobQueue, type JobStatus } from '../../src-main/host/job-queue.js';
import type { Job, SeparationSettings } from '../../src-main/api/contract.js';
import { tempDir } from './helpers.js';

const settings: SeparationSettings = { model: 'identity-waveform', device: 'cpu', overlap: null };
let n = 0;
const source = () => ({ path: `/music/song-${++n}.wav`, name: `song-${n}.wav`, hash: n.toString(16).padStart(64, '0'), bytes: 1000 });

/** A queue holding one job in `status`, reached through the queue's own changes. */
function jobIn(status: JobStatus): { queue: JobQueue; id: string } {
  const queue = new JobQueue();
  const { id } = queue.add(source(), settings);
  if (status === 'cancelled') queue.cancel(id);
  if (status === 'running' || status === 'done' || status === 'failed') assert.equal(queue.startNext()?.job.id, id);
  if (status === 'done') queue.complete(id, 'song-1', []);
  if (status === 'failed') queue.fail(id, { code: 'engine-crashed', message: 'It stopped. Press Retry.' });
  assert.equal(queue.get(id).status, status);
  return { queue, id };
}

type Change = 'start' | 'complete' | 'fail' | 'cancel' | 'requeue' | 'retry';
const change: Record<Change, (q: JobQueue, id: string) => void> = {
  // startNext picks a queued job; reaching no job is its refusal
  start: (q, id) => assert.equal(q.startNext()?.job.id, id, 'startNext started nothing'),
  complete: (q, id) => q.complete(id, 'song-x', []),
  fail: (q, id) => q.fail(id, { code: 'internal', message: 'Failed.' }),
  cancel: (q, id) => q.cancel(id),
  requeue: (q, id) => q.requeue(id),
  retry: (q, id) => q.retry(id),
};

// The state machine, written out: from → the changes it allows and where they lead.
const legal: Record<JobStatus, Partial<Record<Change, JobStatus>>> = {
  queued: { start: 'running', cancel: 'cancelled' },
  running: { complete: 'done', fail: 'failed', cancel: 'cancelled', requeue: 'queued' },
  done: {},
  failed: { retry: 'queued' },
  cancelled: { retry: 'queued' },
};

test('every status × every change: the legal ones move the job, the others are refused and change nothing', () => {
  for (const from of Object.keys(legal) as JobStatus[])
    for (const name of Object.keys(change) as Change[]) {
      const { queue, id } = jobIn(from);
      const before = queue.get(id);
      const events: Job[] = [];
      queue.on('job', (j) => events.push(j));
      const to = legal[from][name];
      if (to) {
        change[name](queue, id);
        assert.equal(queue.get(id).status, to, `${from} --${name}--> ${to}`);
        assert.equal(events.at(-1)?.status, to, `${from} --${name}: an event with the new status`);
      } else {
        assert.throws(() => change[name](queue, id), Error, `${from} --${name} must be refused`);
        assert.deepEqual(queue.get(id), before, `${from} --${name}: the job is unchanged`);
        assert.deepEqual(events, [], `${from} --${name}: no event`);
      }
    }
});

test('a finished job never runs again: startNext skips it, only Retry (failed or cancelled) queues it', () => {
  for (const status of ['done', 'failed', 'cancelled'] as const) {
    const { queue, id } = jobIn(status);
    assert.equal(queue.startNext(), null, `a ${status} job is not started`);
    assert.equal(queue.running(), null);
    assert.equal(queue.get(id).status, status);
  }
  const { queue, id } = jobIn('failed');
  queue.retry(id);
  const again = queue.startNext();
  assert.equal(again?.job.id, id);
  assert.equal(again?.job.attempts, 2, 'a retry is a second attempt');
  // an input that fails the same way every time gets no Retry; the message says why
  const bad = jobIn('running');
  bad.queue.fail(bad.id, { code: 'input-not-audio', message: 'This file is not audio. Open an audio file.' });
  assert.throws(() => bad.queue.retry(bad.id), /would fail the same way: This file is not audio/);
  assert.equal(bad.queue.get(bad.id).status, 'failed');
});

test('jobs leave the queue as copies: writing one changes nothing in the queue', () => {
  const queue = new JobQueue();
  const seen: Job[] = [];
  queue.on('job', (j) => seen.push(j));
  const added = queue.add(source(), settings);
  added.status = 'done';
  seen[0].status = 'running';
  queue.list()[0].status = 'failed';
  queue.get(added.id).status = 'cancelled';
  assert.equal(queue.get(added.id).status, 'queued');
  const started = queue.startNext()!;
  started.job.status = 'queued';
  queue.running()!.status = 'done';
  assert.equal(queue.get(added.id).status, 'running');
  assert.equal(queue.startNext(), null, 'a second job is not started while one runs');
});

test('the same song queued twice is one job; progress never goes back and stops with the job', () => {
  const queue = new JobQueue();
  const src = source();
  const a = queue.add(src, settings);
  assert.equal(queue.add({ ...src, path: '/elsewhere/copy.wav' }, settings).id, a.id, 'same content, same settings');
  assert.notEqual(queue.add(src, { ...settings, overlap: 0.5 }).id, a.id, 'other settings: another song');
  queue.startNext();
  queue.progress(a.id, { stage: 'separate', fraction: 0.5, etaSeconds: 10 });
  queue.progress(a.id, { stage: 'separate', fraction: 0.3, etaSeconds: 8 });
  assert.equal(queue.get(a.id).fraction, 0.5);
  queue.complete(a.id, 'song-a', [{ code: 'input-damaged', message: 'Part of the input could not be read.' }]);
  queue.progress(a.id, { stage: 'write', fraction: 0.9, etaSeconds: 1 });
  const done = queue.get(a.id);
  assert.deepEqual([done.status, done.fraction, done.etaSeconds, done.stage, done.songId], ['done', 1, 0, 'separate', 'song-a']);
  assert.equal(done.warnings?.length, 1);
  queue.clear();
  assert.deepEqual(queue.list().map((j) => j.status), ['queued'], 'clear removes the finished jobs only');
});

test('the saved queue loads back: queued jobs stay queued, the running one comes back failed and retryable', async () => {
  const file = path.join(tempDir('stemdeck-queue-'), 'queue.json');
  const first = new JobQueue(file);
  const running = first.add(source(), settings);
  const waiting = first.add(source(), settings);
  first.startNext();
  await first.flush();
  const second = new JobQueue(file);
  await second.load();
  const failed = second.get(running.id);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error?.code, 'engine-crashed');
  assert.match(failed.error?.message ?? '', /Retry/);
  assert.equal(second.get(waiting.id).status, 'queued');
  assert.equal(second.retry(running.id).status, 'queued');
  assert.equal(second.startNext()?.job.id, running.id, 'the queue keeps its order');
});
