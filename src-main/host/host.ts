/**
 * EngineHost: runs the app's job queue (job-queue.ts) in the engine host process that
 * engine-supervisor.ts keeps alive.
 *
 * - One job runs at a time in the child (worker.ts); the queue lives here, in the app, so a
 *   crashed child loses nothing but the job it ran.
 * - Child crash / SIGKILL / OOM while a job runs → that job is marked failed with a clear
 *   message ('engine-crashed'), its staging folder is removed (the library is untouched, since
 *   songs only appear by an atomic rename when complete), the child is restarted and the queue
 *   goes on. The failed job can be retried.
 * - Quitting while a job runs puts it back in the queue; it runs at the next start.
 */
import { EventEmitter } from 'node:events';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ApiWarning, Job, JobLive, LibraryFormat, SeparationSettings } from '../api/contract.js';
import type { LiveJobState } from './protocol.js';
import { measuredSpeed } from './eta.js';
import type { Library } from '../library/library.js';
import { EngineSupervisor, type HostState, type JobMessage, type SpawnHost } from './engine-supervisor.js';
import { JobQueue, type JobSource } from './job-queue.js';

export interface EngineHostOptions {
  library: Library;
  /** <app data>/queue.json; omit to keep the queue in memory only. */
  queueFile?: string;
  spawn?: SpawnHost;
  /** How long a cancelled job may take to stop before the host is killed (ms). */
  cancelGraceMs?: number;
  /** The library's stem format for the job starting now (Settings; read at start, not at enqueue). */
  libraryFormat?: () => LibraryFormat;
  /** Jobs run in live mode (play while it separates) with their files in <liveRoot>/<job id>, served as MediaRoot 'live'. */
  liveRoot?: string;
}

export class EngineHost extends EventEmitter<{ job: [Job]; host: [HostState, string | null]; song: [string] }> {
  private readonly queue: JobQueue;
  private readonly supervisor: EngineSupervisor;
  /** Running jobs the user cancelled: a process that stops now stopped for the cancel, not a crash. */
  private readonly cancelRequested = new Set<string>();
  /** Jobs whose engine work is done and whose song is being moved into the library. */
  private readonly committing = new Set<string>();

  constructor(private readonly opts: EngineHostOptions) {
    super();
    this.queue = new JobQueue(opts.queueFile);
    this.supervisor = new EngineSupervisor(opts.spawn);
    this.queue.on('job', (job) => this.emit('job', job));
    this.supervisor.on('state', (state, message) => {
      this.emit('host', state, message);
      if (state === 'ready') this.pump();
    });
    this.supervisor.on('message', (msg) => this.onMessage(msg));
    this.supervisor.on('exit', (code, signal) => this.onExit(code, signal));
  }

  get hostState(): { state: HostState; pid: number | null; restarts: number } {
    return this.supervisor.status;
  }

  /** For tests and the doctor: the engine host's process id. */
  get pid(): number | null {
    return this.supervisor.pid;
  }

  async start(): Promise<void> {
    await this.queue.load();
    this.supervisor.start();
    this.pump();
  }

  async stop(): Promise<void> {
    await this.supervisor.stop();
    await this.queue.flush();
  }

  enqueue(source: JobSource, settings: SeparationSettings): Job {
    const { id } = this.queue.add(source, settings);
    this.pump();
    return this.queue.get(id); // running already if the engine host was idle
  }

  list(): Job[] {
    return this.queue.list();
  }

  cancel(id: string): Job {
    const job = this.queue.get(id);
    if (job.status === 'queued') {
      this.queue.cancel(id);
      this.pump();
    } else if (job.status === 'running') {
      this.cancelRequested.add(id);
      this.supervisor.cancelJob(id, this.opts.cancelGraceMs ?? 10_000);
    }
    return this.queue.get(id);
  }

  retry(id: string): Job {
    this.queue.retry(id);
    this.pump();
    return this.queue.get(id);
  }

  clear(): void {
    this.queue.clear();
  }

  releaseSessions(dirs: string[]): Promise<string[] | null> {
    return this.supervisor.releaseSessions(dirs);
  }

  /** Starts the next queued job when the engine host is ready and idle. */
  private pump(): void {
    if (this.queue.running() || !this.supervisor.ready) return;
    const next = this.queue.startNext();
    if (!next) return;
    const { job } = next;
    this.supervisor.send({
      type: 'run',
      job: {
        id: job.id,
        input: job.input,
        staging: this.opts.library.stagingDir(job.id),
        songId: next.songId,
        settings: job.settings,
        source: next.source,
        measuredSpeed: measuredSpeed(this.opts.library.runs(), job.settings.model),
        ...(this.opts.libraryFormat ? { libraryFormat: this.opts.libraryFormat() } : {}),
        ...(this.opts.liveRoot ? { live: { dir: path.join(this.opts.liveRoot, job.id) } } : {}),
      },
    });
  }

  /** The listener's position in the running live job (the engine separates from there first). */
  playhead(id: string, seconds: number, playing: boolean): void {
    if (this.queue.running()?.id === id) this.supervisor.send({ type: 'playhead', id, seconds, playing });
  }

  /** A live job's state as the API shows it: its files as media refs under the 'live' root. */
  private liveOf(id: string, s: LiveJobState): JobLive {
    const ref = (name: string) => ({ root: 'live' as const, path: `${id}/${name}.f32` });
    return {
      sampleRate: s.sampleRate,
      channels: s.channels,
      frames: s.frames,
      mixture: { ref: ref('mixture'), frames: s.mixtureFrames, done: s.mixtureDone },
      stems: s.stems.map((name, i) => ({ name, ref: ref(`stem${i}`) })),
      regions: s.regions.map((r) => [r.from, r.to] as [number, number]),
      separating: s.separating ? [s.separating.from, s.separating.to] : null,
    };
  }

  /** The running job ends (`end`: the queue's change of status): its cancel is settled, the next job starts. */
  private finished(id: string, end: () => void): void {
    end();
    if (this.opts.liveRoot) void fsp.rm(path.join(this.opts.liveRoot, id), { recursive: true, force: true }).catch(() => undefined);
    this.cancelRequested.delete(id);
    this.supervisor.cancelSettled();
    this.pump();
  }

  private onMessage(msg: JobMessage): void {
    if (this.queue.running()?.id !== msg.id) return;
    const id = msg.id;
    if (msg.type === 'progress') this.queue.progress(id, msg);
    else if (msg.type === 'live') this.queue.live(id, this.liveOf(id, msg.state));
    else if (msg.type === 'done') {
      this.committing.add(id);
      void this.commit(id, msg.staging, msg.warnings ?? []).finally(() => this.committing.delete(id));
    } else if (msg.error.code === 'cancelled') this.finished(id, () => this.queue.cancel(id));
    else this.finished(id, () => this.queue.fail(id, msg.error));
  }

  /** Moves the finished song into the library; the job is done only once it is there. */
  private async commit(id: string, staging: string, warnings: ApiWarning[]): Promise<void> {
    try {
      const song = await this.opts.library.commit(staging);
      this.finished(id, () => this.queue.complete(id, song.id, warnings));
      this.emit('song', song.id);
    } catch (e) {
      await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      this.finished(id, () => this.queue.fail(id, { code: 'internal', message: `The separated song could not be saved: ${String(e)}` }));
    }
  }

  /** The engine host process stopped: what that means for the job it ran. */
  private onExit(code: number | null, signal: string | null): void {
    const job = this.queue.running();
    // A job whose song is being committed finished its engine work: the commit completes it.
    if (!job || this.committing.has(job.id)) return;
    const id = job.id;
    void fsp.rm(this.opts.library.stagingDir(id), { recursive: true, force: true }).catch(() => undefined);
    if (this.cancelRequested.has(id)) this.finished(id, () => this.queue.cancel(id));
    // The app is quitting: the job goes back to the queue and runs at the next start.
    else if (this.supervisor.stopping) this.queue.requeue(id);
    else
      this.finished(id, () =>
        this.queue.fail(id, {
          code: 'engine-crashed',
          message: `The engine process stopped unexpectedly (${signal ?? `exit code ${code}`}) while separating "${job.name}" — possibly out of memory. Your library is intact; press Retry to run it again.`,
        }),
      );
  }
}
