/**
 * JobQueue: the app's separation jobs and the only code that changes a job's status.
 *
 *   queued ──start──▶ running ──▶ done
 *     │                 │ └────▶ failed ──retry──▶ queued
 *     └──cancel──▶ cancelled ◀───┘        (cancelled ──retry──▶ queued)
 *                       running ──requeue──▶ queued   (the app quit while it ran)
 *
 * Any other move is a bug and throws. Jobs leave the queue only as copies, so nothing outside
 * can write a status. The queue (not the progress) is saved atomically to <app data>/queue.json
 * after every change of status, so queued jobs survive an app restart; a job that was running
 * when the app died is loaded back as failed, ready to retry.
 */
import { EventEmitter } from 'node:events';
import fsp from 'node:fs/promises';
import crypto from 'node:crypto';
import { JobSchema, type ApiError, type ApiWarning, type Job, type JobLive, type SeparationSettings } from '../api/contract.js';
import { StemdeckError } from '../engine/index.js';
import { writeJsonAtomic } from '../engine/output/atomic.js';
import { songIdFor } from '../library/library.js';
import { canRetry } from '../shared/retry.js';

export type JobStatus = Job['status'];

/** The file a job separates: its path, the name shown, its content hash and size in bytes. */
export interface JobSource {
  path: string;
  name: string;
  hash: string;
  bytes: number;
}

/** A job with what the engine needs to run it; `job` is a copy. */
export interface StartedJob {
  job: Job;
  source: JobSource;
  songId: string;
}

/** Every legal change of a job's status: what happened, from which statuses, to which status. */
const MOVES = {
  start: { from: ['queued'], to: 'running' },
  complete: { from: ['running'], to: 'done' },
  fail: { from: ['running'], to: 'failed' },
  cancel: { from: ['queued', 'running'], to: 'cancelled' },
  requeue: { from: ['running'], to: 'queued' },
  retry: { from: ['failed', 'cancelled'], to: 'queued' },
} as const satisfies Record<string, { from: readonly JobStatus[]; to: JobStatus }>;
type Move = keyof typeof MOVES;

const isFinished = (status: JobStatus): boolean => status === 'done' || status === 'failed' || status === 'cancelled';

interface Entry {
  job: Job;
  source: JobSource;
  songId: string;
}

/** Progress events of a running job are sent at most this often (ms); changes of status always. */
const PROGRESS_EVENT_MS = 100;
/** A live job's mixture is reported without the interval until this much of it is decoded (s). */
const LIVE_START_SECONDS = 1;

export class JobQueue extends EventEmitter<{ job: [Job] }> {
  private readonly entries = new Map<string, Entry>();
  private readonly lastEmit = new Map<string, number>();
  private saving: Promise<void> = Promise.resolve();

  /** `file`: <app data>/queue.json; omit it to keep the queue in memory only. */
  constructor(private readonly file?: string) {
    super();
  }

  list(): Job[] {
    return [...this.entries.values()].map((e) => ({ ...e.job }));
  }

  /** A copy of the job; a StemdeckError if it is not (or no longer) in the queue. */
  get(id: string): Job {
    return { ...this.entry(id).job };
  }

  /** The running job (at most one runs at a time), or null. */
  running(): Job | null {
    const e = [...this.entries.values()].find((x) => x.job.status === 'running');
    return e ? { ...e.job } : null;
  }

  /** Queues a separation; the same song (same file content, same settings) already queued or running is returned instead. */
  add(source: JobSource, settings: SeparationSettings): Job {
    const songId = songIdFor(source.hash, settings);
    const active = [...this.entries.values()].find(
      (e) => e.source.hash === source.hash && e.songId === songId && (e.job.status === 'queued' || e.job.status === 'running'),
    );
    if (active) return { ...active.job };
    const job: Job = {
      id: `${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`,
      input: source.path,
      name: source.name,
      status: 'queued',
      stage: null,
      fraction: 0,
      etaSeconds: null,
      settings,
      error: null,
      songId: null,
      attempts: 0,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
    };
    this.entries.set(job.id, { job, source, songId });
    this.changed(job);
    return { ...job };
  }

  /** The first queued job → running (a new attempt); null when none is queued. */
  startNext(): StartedJob | null {
    const next = [...this.entries.values()].find((e) => e.job.status === 'queued');
    if (!next) return null;
    this.move(next, 'start', {
      stage: 'decode',
      fraction: 0,
      etaSeconds: null,
      error: null,
      warnings: undefined,
      attempts: next.job.attempts + 1,
      startedAt: new Date().toISOString(),
      finishedAt: null,
    });
    return { job: { ...next.job }, source: next.source, songId: next.songId };
  }

  /** Progress of the running job; the fraction never goes back. Ignored once the job stopped running. */
  progress(id: string, p: { stage: NonNullable<Job['stage']>; fraction: number; etaSeconds: number | null }): void {
    const e = this.entries.get(id);
    if (!e || e.job.status !== 'running') return;
    e.job.stage = p.stage;
    e.job.fraction = Math.max(e.job.fraction, p.fraction);
    e.job.etaSeconds = p.etaSeconds;
    this.emitJob(e.job, false);
  }

  /** The live state of the running job (play while it separates). Ignored once the job stopped running. */
  live(id: string, live: JobLive): void {
    const e = this.entries.get(id);
    if (!e || e.job.status !== 'running') return;
    // the mixture's first second goes out as it grows: a player waits for its first few hundred ms
    // (the decode writes a chunk every few ms; the interval would hold the second one back 100 ms)
    const starting = live.mixture.frames > 0 && live.mixture.frames < live.sampleRate * LIVE_START_SECONDS;
    e.job.live = live;
    this.emitJob(e.job, starting);
  }

  /** running → done: its song is in the library. */
  complete(id: string, songId: string, warnings: ApiWarning[]): void {
    this.move(this.entry(id), 'complete', {
      songId,
      ...(warnings.length ? { warnings } : {}),
      fraction: 1,
      etaSeconds: 0,
      error: null,
      finishedAt: new Date().toISOString(),
    });
  }

  /** running → failed, with what went wrong and what to do. */
  fail(id: string, error: ApiError): void {
    this.move(this.entry(id), 'fail', { error, etaSeconds: null, finishedAt: new Date().toISOString() });
  }

  /** queued or running → cancelled. */
  cancel(id: string): void {
    this.move(this.entry(id), 'cancel', { error: null, etaSeconds: null, finishedAt: new Date().toISOString() });
  }

  /** running → queued: the app is quitting, the job runs again at the next start. */
  requeue(id: string): void {
    this.move(this.entry(id), 'requeue', { stage: null, fraction: 0, etaSeconds: null, startedAt: null });
  }

  /** failed or cancelled → queued; refused (StemdeckError, shown to the user) for others and for inputs that would fail the same way. */
  retry(id: string): Job {
    const entry = this.entry(id);
    const job = entry.job;
    if (job.status !== 'failed' && job.status !== 'cancelled')
      throw new StemdeckError('invalid-request', `Only failed or cancelled jobs can be retried (this one is ${job.status}).`);
    // the same file would fail the same way (shared/retry.ts); its message says what to do instead
    if (!canRetry(job))
      throw new StemdeckError('invalid-request', `Retrying would fail the same way: ${job.error?.message ?? 'this file cannot be separated.'}`);
    this.move(entry, 'retry', { stage: null, fraction: 0, etaSeconds: null, error: null, finishedAt: null });
    return { ...job };
  }

  /** Removes the finished jobs (done, failed, cancelled). */
  clear(): void {
    for (const [id, e] of this.entries) if (isFinished(e.job.status)) this.entries.delete(id);
    void this.save();
  }

  /** Resolves when every change so far is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  /** Loads the saved queue (a missing or unreadable file is an empty queue); a job that was running comes back failed. */
  async load(): Promise<void> {
    if (!this.file) return;
    let raw: unknown;
    try {
      raw = JSON.parse(await fsp.readFile(this.file, 'utf8'));
    } catch {
      return;
    }
    if (!Array.isArray(raw)) return;
    for (const item of raw as Array<{ job: unknown; source: JobSource; songId: string }>) {
      const parsed = JobSchema.safeParse(item?.job);
      if (!parsed.success || !item.source || typeof item.songId !== 'string') continue;
      const entry: Entry = { job: parsed.data, source: item.source, songId: item.songId };
      if (entry.job.status === 'running')
        this.apply(entry, 'fail', {
          error: { code: 'engine-crashed', message: 'Stemdeck stopped while this job was running. Press Retry to run it again.' },
          finishedAt: new Date().toISOString(),
        });
      this.entries.set(entry.job.id, entry);
    }
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new StemdeckError('invalid-request', 'This job is no longer in the queue.');
    return e;
  }

  /** The one place a job's status changes: a legal move, then an event and a save. */
  private move(entry: Entry, move: Move, changes: Partial<Job>): void {
    this.apply(entry, move, changes);
    this.changed(entry.job);
  }

  private apply(entry: Entry, move: Move, changes: Partial<Job>): void {
    const { from, to } = MOVES[move];
    const status = entry.job.status;
    // a bug, not a user's mistake: the callers check the status first
    if (!(from as readonly JobStatus[]).includes(status)) throw new Error(`Job ${entry.job.id} cannot ${move}: it is ${status}.`);
    Object.assign(entry.job, changes, { status: to });
    if ('warnings' in changes && changes.warnings === undefined) delete entry.job.warnings;
    // a live job's files go when it stops running: nothing half-separated stays playable
    if (to !== 'running') delete entry.job.live;
  }

  private changed(job: Job): void {
    this.emitJob(job, true);
    void this.save();
  }

  private readonly trailing = new Map<string, NodeJS.Timeout>();

  private emitJob(job: Job, force: boolean): void {
    const now = Date.now();
    const wait = PROGRESS_EVENT_MS - (now - (this.lastEmit.get(job.id) ?? 0));
    if (!force && wait > 0) {
      // the last change of a burst is sent when the interval is over (a live job's last region must not wait for the next one)
      if (!this.trailing.has(job.id))
        this.trailing.set(
          job.id,
          setTimeout(() => {
            this.trailing.delete(job.id);
            this.emitJob(job, true);
          }, wait),
        );
      return;
    }
    clearTimeout(this.trailing.get(job.id));
    this.trailing.delete(job.id);
    this.lastEmit.set(job.id, now);
    this.emit('job', { ...job });
  }

  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const data = [...this.entries.values()].map((e) => ({ job: e.job, source: e.source, songId: e.songId }));
    this.saving = this.saving.then(() => writeJsonAtomic(file, data).catch(() => undefined));
    return this.saving;
  }
}
