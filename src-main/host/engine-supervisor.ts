/**
 * EngineSupervisor: starts the engine host process (worker.ts), carries messages to and from it,
 * and restarts it when it stops unexpectedly (a crash, SIGKILL, out of memory): at once after a
 * single crash, backing off when it keeps dying (e.g. a broken install). It knows nothing of the
 * queue: what a stopped process means for its job is EngineHost's business ('exit' event).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

export type HostState = 'starting' | 'ready' | 'restarting' | 'stopped';

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

/** Job messages from the engine host ('ready' and 'released' are the supervisor's own). */
export type JobMessage = Exclude<FromHost, { type: 'ready' } | { type: 'released' }>;

const RESTARTING = 'The engine process stopped; restarting it.';

export class EngineSupervisor extends EventEmitter<{
  state: [HostState, string | null];
  message: [JobMessage];
  /** The process stopped (emitted before any restart); `stopping` tells a quit from a crash. */
  exit: [code: number | null, signal: string | null];
}> {
  private child: HostChild | null = null;
  private state: HostState = 'stopped';
  private restarts = 0;
  private stopRequested = false;
  private crashTimes: number[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private cancelTimer: NodeJS.Timeout | null = null;
  private readonly releases = new Map<number, (resident: string[] | null) => void>();
  private nextRelease = 1;

  constructor(private readonly spawn: SpawnHost = () => forkHost()) {
    super();
  }

  get status(): { state: HostState; pid: number | null; restarts: number } {
    return { state: this.state, pid: this.pid, restarts: this.restarts };
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Started and answered 'ready': it takes jobs. */
  get ready(): boolean {
    return this.state === 'ready' && this.child !== null;
  }

  /** stop() was called: a process that stops now is not restarted. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  start(): void {
    this.stopRequested = false;
    this.spawnChild('starting');
  }

  send(msg: ToHost): void {
    this.child?.send(msg);
  }

  /** Asks the engine host to stop job `id`; kills the process if it has not stopped within graceMs. */
  cancelJob(id: string, graceMs: number): void {
    const child = this.child;
    child?.send({ type: 'cancel', id });
    this.cancelSettled();
    this.cancelTimer = setTimeout(() => {
      if (this.child === child) child?.kill();
    }, graceMs);
  }

  /** The job being cancelled has stopped: no kill. */
  cancelSettled(): void {
    if (this.cancelTimer) clearTimeout(this.cancelTimer);
    this.cancelTimer = null;
  }

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

  /** Asks the engine host to quit (killed after 2 s) and does not restart it. */
  async stop(): Promise<void> {
    this.stopRequested = true;
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
  }

  private spawnChild(state: HostState): void {
    this.setState(state, state === 'restarting' ? RESTARTING : null);
    const child = this.spawn();
    this.child = child;
    child.onMessage((msg) => this.onMessage(child, msg));
    child.onExit((code, signal) => this.onExit(child, code, signal));
  }

  private setState(state: HostState, message: string | null): void {
    this.state = state;
    this.emit('state', state, message);
  }

  private onMessage(child: HostChild, msg: FromHost): void {
    if (child !== this.child) return;
    if (msg.type === 'ready') this.setState('ready', null);
    else if (msg.type === 'released') this.releases.get(msg.id)?.(msg.resident);
    else this.emit('message', msg);
  }

  private onExit(child: HostChild, code: number | null, signal: string | null): void {
    if (child !== this.child) return;
    this.child = null;
    for (const answer of this.releases.values()) answer([]); // a stopped engine host has no sessions
    this.cancelSettled();
    this.emit('exit', code, signal);
    if (this.stopRequested) {
      this.setState('stopped', null);
      return;
    }
    this.restarts++;
    // Restart at once after a single crash; back off if the host keeps dying (e.g. a broken install).
    const now = Date.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < 60_000), now];
    const delay = this.crashTimes.length <= 3 ? 0 : Math.min(30_000, 500 * 2 ** (this.crashTimes.length - 4));
    this.setState('restarting', RESTARTING);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopRequested) this.spawnChild('restarting');
    }, delay);
  }
}
