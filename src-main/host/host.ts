/**
 * EngineHost: the app-side job queue and the engine host process it drives.
 *
 * - One job runs at a time in the child (worker.ts); the queue lives here, in the app, so a
 *   crashed child loses nothing but the job it ran.
 * - Child crash / SIGKILL / OOM while a job runs → that job is marked failed with a clear
 *   message ('engine-crashed'), its staging folder is removed (the library is untouched, since
 *   songs only appear by an atomic rename when complete), the child is restarted and the queue
 *   goes on. The failed job can be retried.
 * - The queue (not the progress) is saved atomically to <app data>/queue.json, so queued jobs
 *   survive an app restart; a job that was running when the app died comes back as failed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { JobSchema, type ApiError, type ApiWarning, type Job, type LibraryFormat, type SeparationSettings } from '../api/contract.js';
import { StemdeckError } from '../engine/errors.js';
import { measuredSpeed } from './eta.js';
import { writeJsonAtomic } from '../engine/output/atomic.js';
import type { Library } from '../library/library.js';
import { songIdFor } from '../library/library.js';
import { canRetry } from '../shared/retry.js';
import type { FromHost, ToHost } from './protocol.js';

/** A started engine host process, whatever started it (child_process.fork or utilityProcess). */
export interface HostChild {
  readonly pid: number | null;
  send(msg: ToHost): void;
  onMessage(cb: (msg: FromHost) => void): void;
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}
export type SpawnHost = () => HostChild;

/** The worker entry next to this module: worker.js when built, worker.ts (through tsx) from source. */
export function workerEntry(): { file: string; execArgv: string[] } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const js = path.join(here, 'worker.js');
  if (fs.existsSync(js)) return { file: js, execArgv: [] };
  return { file: path.join(here, 'worker.ts'), execArgv: ['--import', 'tsx'] };
}

export function forkHost(entry = workerEntry()): HostChild {
  const child: ChildProcess = fork(entry.file, [], {
    execArgv: entry.execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: process.env,
  });
  return {
    get pid() {
      return child.pid ?? null;
    },
    send(msg) {
      if (child.connected) child.send(msg);
    },
    onMessage(cb) {
      child.on('message', (m) => cb(m as FromHost));
    },
    onExit(cb) {
      child.on('exit', (code, signal) => cb(code, signal));
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

export type HostState = 'starting' | 'ready' | 'restarting' | 'stopped';

export interface EngineHostOptions {
  library: Library;
  /** <app data>/queue.json; omit to keep the queue in memory only. */
  queueFile?: string;
  spawn?: SpawnHost;
  /** How long a cancelled job may take to stop before the host is killed (ms). */
  cancelGraceMs?: number;
  /** The library's stem format for the job starting now (Settings; read at start, not at enqueue). */
  libraryFormat?: () => LibraryFormat;
}

interface Entry {
  job: Job;
  source: { path: string; name: string; hash: string; bytes: number };
  songId: string;
}

export class EngineHost extends EventEmitter<{ job: [Job]; host: [HostState, string | null]; song: [string] }> {
  private child: HostChild | null = null;
  private state: HostState = 'stopped';
  private readonly entries = new Map<string, Entry>();
  private current: string | null = null;
  private restarts = 0;
  private stopping = false;
  private lastEmit = new Map<string, number>();
  private cancelTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: EngineHostOptions) {
    super();
  }

  get hostState(): { state: HostState; pid: number | null; restarts: number } {
    return { state: this.state, pid: this.child?.pid ?? null, restarts: this.restarts };
  }

  async start(): Promise<void> {
    await this.loadQueue();
    this.stopping = false;
    this.spawnChild('starting');
    this.pump();
  }

  private spawnChild(state: HostState): void {
    const spawn = this.opts.spawn ?? (() => forkHost());
    this.setState(state, state === 'restarting' ? 'The engine process stopped; restarting it.' : null);
    const child = spawn();
    this.child = child;
    child.onMessage((msg) => this.onMessage(child, msg));
    child.onExit((code, signal) => this.onExit(child, code, signal));
  }

  private setState(state: HostState, message: string | null): void {
    this.state = state;
    this.emit('host', state, message);
  }

  private onMessage(child: HostChild, msg: FromHost): void {
    if (child !== this.child) return;
    if (msg.type === 'ready') {
      this.setState('ready', null);
      this.pump();
      return;
    }
    if (msg.type === 'released') {
      this.releases.get(msg.id)?.(msg.resident);
      return;
    }
    const entry = this.entries.get(msg.id);
    if (!entry || this.current !== msg.id) return;
    const job = entry.job;
    if (msg.type === 'progress') {
      if (job.status !== 'running') return;
      job.stage = msg.stage;
      job.fraction = Math.max(job.fraction, msg.fraction);
      job.etaSeconds = msg.etaSeconds;
      this.emitJob(job, false);
    } else if (msg.type === 'done') {
      this.committing.add(entry.job.id);
      void this.complete(entry, msg.staging, msg.warnings ?? []).finally(() => this.committing.delete(entry.job.id));
    } else if (msg.type === 'failed') {
      this.finish(entry, msg.error.code === 'cancelled' ? 'cancelled' : 'failed', msg.error.code === 'cancelled' ? null : msg.error);
    }
  }

  private async complete(entry: Entry, staging: string, warnings: ApiWarning[]): Promise<void> {
    try {
      const song = await this.opts.library.commit(staging);
      entry.job.songId = song.id;
      if (warnings.length) entry.job.warnings = warnings;
      entry.job.fraction = 1;
      entry.job.etaSeconds = 0;
      this.finish(entry, 'done', null);
      this.emit('song', song.id);
    } catch (e) {
      await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      this.finish(entry, 'failed', { code: 'internal', message: `The separated song could not be saved: ${String(e)}` });
    }
  }

  private onExit(child: HostChild, code: number | null, signal: string | null): void {
    if (child !== this.child) return;
    this.child = null;
    for (const answer of this.releases.values()) answer([]); // a stopped engine host has no sessions
    if (this.cancelTimer) clearTimeout(this.cancelTimer);
    this.cancelTimer = null;
    const id = this.current;
    // A job whose song is being committed finished its engine work: the commit completes it.
    if (id && !this.committing.has(id)) {
      const entry = this.entries.get(id);
      if (entry) {
        void fsp.rm(this.opts.library.stagingDir(id), { recursive: true, force: true }).catch(() => undefined);
        if (this.stopping && entry.job.status === 'running' && !this.cancelRequested.has(id)) {
          // The app is quitting: the job goes back to the queue and runs at the next start.
          Object.assign(entry.job, { status: 'queued', stage: null, fraction: 0, etaSeconds: null, startedAt: null });
          this.current = null;
          this.emitJob(entry.job, true);
          void this.saveQueue();
        } else if (entry.job.status === 'running' && this.cancelRequested.has(id)) this.finish(entry, 'cancelled', null);
        else
          this.finish(entry, 'failed', {
            code: 'engine-crashed',
            message: `The engine process stopped unexpectedly (${signal ?? `exit code ${code}`}) while separating "${entry.job.name}" — possibly out of memory. Your library is intact; press Retry to run it again.`,
          });
      }
    }
    if (this.stopping) {
      this.setState('stopped', null);
      return;
    }
    this.restarts++;
    // Restart at once after a single crash; back off if the host keeps dying (e.g. a broken install).
    const now = Date.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < 60_000), now];
    const delay = this.crashTimes.length <= 3 ? 0 : Math.min(30_000, 500 * 2 ** (this.crashTimes.length - 4));
    this.setState('restarting', 'The engine process stopped; restarting it.');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawnChild('restarting');
    }, delay);
  }

  private crashTimes: number[] = [];
  private restartTimer: NodeJS.Timeout | null = null;

  private cancelRequested = new Set<string>();
  private committing = new Set<string>();

  private finish(entry: Entry, status: 'done' | 'failed' | 'cancelled', error: ApiError | null): void {
    const job = entry.job;
    job.status = status;
    job.error = error;
    job.finishedAt = new Date().toISOString();
    if (status !== 'done') {
      job.etaSeconds = null;
    }
    if (this.current === job.id) this.current = null;
    this.cancelRequested.delete(job.id);
    if (this.cancelTimer) clearTimeout(this.cancelTimer);
    this.cancelTimer = null;
    this.emitJob(job, true);
    void this.saveQueue();
    this.pump();
  }

  private emitJob(job: Job, force: boolean): void {
    const now = Date.now();
    if (!force && now - (this.lastEmit.get(job.id) ?? 0) < 100) return;
    this.lastEmit.set(job.id, now);
    this.emit('job', { ...job });
  }

  private pump(): void {
    if (this.current || this.state !== 'ready' || !this.child) return;
    const next = [...this.entries.values()].find((e) => e.job.status === 'queued');
    if (!next) return;
    const job = next.job;
    this.current = job.id;
    job.status = 'running';
    job.stage = 'decode';
    job.fraction = 0;
    job.etaSeconds = null;
    job.error = null;
    delete job.warnings;
    job.attempts++;
    job.startedAt = new Date().toISOString();
    job.finishedAt = null;
    this.emitJob(job, true);
    void this.saveQueue();
    this.child.send({
      type: 'run',
      job: {
        id: job.id,
        input: job.input,
        staging: this.opts.library.stagingDir(job.id),
        songId: next.songId,
        settings: job.settings,
        source: next.source,
        measuredSpeed: measuredSpeed(
          this.opts.library.runs(),
          job.settings.model,
        ),
        ...(this.opts.libraryFormat ? { libraryFormat: this.opts.libraryFormat() } : {}),
      },
    });
  }

  enqueue(source: { path: string; name: string; hash: string; bytes: number }, settings: SeparationSettings): Job {
    const active = [...this.entries.values()].find(
      (e) => e.source.hash === source.hash && e.songId === songIdFor(source.hash, settings) && (e.job.status === 'queued' || e.job.status === 'running'),
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
    this.entries.set(job.id, { job, source, songId: songIdFor(source.hash, settings) });
    this.emitJob(job, true);
    void this.saveQueue();
    this.pump();
    return { ...job };
  }

  list(): Job[] {
    return [...this.entries.values()].map((e) => ({ ...e.job }));
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new StemdeckError('invalid-request', 'This job is no longer in the queue.');
    return e;
  }

  cancel(id: string): Job {
    const entry = this.entry(id);
    const job = entry.job;
    if (job.status === 'queued') this.finish(entry, 'cancelled', null);
    else if (job.status === 'running' && this.current === id) {
      this.cancelRequested.add(id);
      this.child?.send({ type: 'cancel', id });
      if (this.cancelTimer) clearTimeout(this.cancelTimer);
      const child = this.child;
      this.cancelTimer = setTimeout(() => {
        if (this.current === id && this.child === child) child?.kill();
      }, this.opts.cancelGraceMs ?? 10_000);
    }
    return { ...job };
  }

  retry(id: string): Job {
    const entry = this.entry(id);
    const job = entry.job;
    if (job.status !== 'failed' && job.status !== 'cancelled')
      throw new StemdeckError('invalid-request', `Only failed or cancelled jobs can be retried (this one is ${job.status}).`);
    // the same file would fail the same way (shared/retry.ts); its message says what to do instead
    if (!canRetry(job))
      throw new StemdeckError('invalid-request', `Retrying would fail the same way: ${job.error?.message ?? 'this file cannot be separated.'}`);
    job.status = 'queued';
    job.stage = null;
    job.fraction = 0;
    job.etaSeconds = null;
    job.error = null;
    job.finishedAt = null;
    this.emitJob(job, true);
    void this.saveQueue();
    this.pump();
    return { ...job };
  }

  clear(): void {
    for (const [id, e] of this.entries) if (e.job.status === 'done' || e.job.status === 'failed' || e.job.status === 'cancelled') this.entries.delete(id);
    void this.saveQueue();
  }

  private readonly releases = new Map<number, (resident: string[] | null) => void>();
  private nextRelease = 1;

  /**
   * Releases the engine host's ONNX Runtime sessions of the model files in these folders (a model
   * removed or re-imported; [] only asks) and resolves to the model files that still have one
   * (null if the engine host did not answer within 10 s). One not running has none.
   */
  releaseSessions(dirs: string[]): Promise<string[] | null> {
    const child = this.child;
    if (!child || this.state !== 'ready') return Promise.resolve([]);
    const id = this.nextRelease++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(null), 10_000);
      const answer = (resident: string[] | null): void => {
        clearTimeout(timer);
        this.releases.delete(id);
        resolve(resident);
      };
      this.releases.set(id, answer);
      child.send({ type: 'release', id, dirs });
    });
  }

  /** For tests and the doctor: the engine host's process id. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill();
        resolve();
      }, 2000);
      child.onExit(() => {
        clearTimeout(t);
        resolve();
      });
      child.send({ type: 'shutdown' });
    });
    this.child = null;
    await this.saving;
  }

  private saving: Promise<void> = Promise.resolve();

  private saveQueue(): Promise<void> {
    const file = this.opts.queueFile;
    if (!file) return Promise.resolve();
    const data = [...this.entries.values()].map((e) => ({ job: e.job, source: e.source, songId: e.songId }));
    this.saving = this.saving.then(() => writeJsonAtomic(file, data).catch(() => undefined));
    return this.saving;
  }

  private async loadQueue(): Promise<void> {
    const file = this.opts.queueFile;
    if (!file) return;
    let raw: unknown;
    try {
      raw = JSON.parse(await fsp.readFile(file, 'utf8'));
    } catch {
      return;
    }
    if (!Array.isArray(raw)) return;
    for (const item of raw as Array<{ job: unknown; source: Entry['source']; songId: string }>) {
      const parsed = JobSchema.safeParse(item?.job);
      if (!parsed.success || !item.source || typeof item.songId !== 'string') continue;
      const job = parsed.data;
      if (job.status === 'running') {
        job.status = 'failed';
        job.error = { code: 'engine-crashed', message: 'Stemdeck stopped while this job was running. Press Retry to run it again.' };
        job.finishedAt = new Date().toISOString();
      }
      this.entries.set(job.id, { job, source: item.source, songId: item.songId });
    }
  }
}
