/**
 * App-wide reactive state (Svelte 5 runes): the API connection, settings, models, queue,
 * library, the open song, and errors shown where they happened.
 */
import { ApiCallError, type Job, type ModelInfo, type Settings, type SongSummary, type StemdeckApi, DEFAULT_SETTINGS } from '$api/contract.js';
import { createClient } from '$api/client.js';
import { audioContext } from './player.js';
import { prefetchSong } from './songs.js';

export type View = 'library' | 'mixer' | 'models';

export interface Notice {
  id: number;
  /** Where it happened, e.g. 'queue', 'library', 'mixer', 'export', 'models', 'settings'. */
  area: string;
  message: string;
  kind: 'error' | 'info';
}

let noticeId = 0;

export function errorText(e: unknown): string {
  if (e instanceof ApiCallError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

class AppState {
  api: StemdeckApi | null = null;
  view = $state<View>('library');
  settings = $state<Settings>({ ...DEFAULT_SETTINGS });
  models = $state<ModelInfo[]>([]);
  jobs = $state<Job[]>([]);
  songs = $state<SongSummary[]>([]);
  /** Disk use of the whole library (library.usage), whatever the search shows. */
  usage = $state<{ totalBytes: number; songs: number } | null>(null);
  query = $state('');
  openSongId = $state<string | null>(null);
  /** A running job whose song the mixer plays while it separates (live mode), or null. */
  openJobId = $state<string | null>(null);
  notices = $state<Notice[]>([]);
  hostState = $state<'starting' | 'ready' | 'restarting' | 'stopped'>('starting');
  hostMessage = $state<string | null>(null);
  uploading = $state<{ names: string[]; fraction: number } | null>(null);
  ready = $state(false);

  notify(area: string, message: string, kind: 'error' | 'info' = 'error'): void {
    const n = { id: ++noticeId, area, message, kind };
    this.notices = [...this.notices.filter((x) => !(x.area === area && x.message === message)), n];
    if (kind === 'info') setTimeout(() => this.dismiss(n.id), 5000);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  noticesFor(area: string): Notice[] {
    return this.notices.filter((n) => n.area === area);
  }

  async start(): Promise<void> {
    // the AudioContext takes tens of ms to create: do it now, not when a song is opened
    try {
      audioContext();
    } catch {
      /* no Web Audio: the mixer will say so */
    }
    const api = createClient();
    this.api = api;
    api.on('job', (job) => {
      const i = this.jobs.findIndex((j) => j.id === job.id);
      if (i >= 0) this.jobs[i] = job;
      else this.jobs = [...this.jobs, job];
      if (job.status === 'done') {
        void this.refreshSongs();
        // a song that was just separated is likely to be opened next: start loading it
        if (job.songId && this.api) prefetchSong(this.api, job.songId);
      }
    });
    api.on('library', () => void this.refreshSongs());
    api.on('settings', (s) => (this.settings = s));
    api.on('host', (h) => {
      this.hostState = h.state;
      this.hostMessage = h.message;
    });
    await Promise.all([
      this.guard('settings', async () => (this.settings = await api.call('settings.get', {}))),
      this.refreshModels(),
      this.guard('queue', async () => (this.jobs = await api.call('queue.list', {}))),
      this.refreshSongs(),
    ]);
    this.hostState = 'ready';
    this.ready = true;
  }

  /** Runs `fn`, showing any error in `area`. Returns undefined on error. */
  async guard<T>(area: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.notify(area, errorText(e));
      return undefined;
    }
  }

  async refreshModels(): Promise<void> {
    await this.guard('settings', async () => (this.models = await this.api!.call('models.list', {})));
  }

  async refreshSongs(): Promise<void> {
    await this.guard('library', async () => {
      const q = this.query.trim();
      this.songs = await this.api!.call('library.list', q ? { query: q } : {});
      this.usage = await this.api!.call('library.usage', {});
    });
  }

  async updateSettings(patch: Partial<Settings>): Promise<void> {
    this.settings = { ...this.settings, ...patch };
    await this.guard('settings', async () => (this.settings = await this.api!.call('settings.set', patch)));
  }

  get currentModel(): ModelInfo | undefined {
    return this.models.find((m) => m.id === this.settings.model) ?? this.models.find((m) => m.isDefault) ?? this.models[0];
  }

  /**
   * Opens backend paths: queues separations; opens a song at once if it was separated already, and
   * one new file in the mixer while it separates (playing it; `since`: when the user let go of it).
   */
  async openPaths(paths: string[], since = performance.now()): Promise<void> {
    if (paths.length === 0) return;
    const res = await this.guard('queue', () =>
      this.api!.call('files.open', {
        paths,
        settings: { model: this.currentModel?.id, device: this.settings.device, overlap: this.settings.overlap },
      }),
    );
    if (!res) return;
    for (const j of res.jobs) if (!this.jobs.some((x) => x.id === j.id)) this.jobs = [...this.jobs, j];
    for (const r of res.refused) this.notify('queue', `${r.path.split(/[\\/]/).pop()}: ${r.error.message}`);
    if (paths.length === 1 && res.jobs.length === 1 && res.existing.length === 0) this.openJob(res.jobs[0].id, true, since);
    if (res.existing.length > 0) {
      await this.refreshSongs();
      if (res.jobs.length === 0) this.openSong(res.existing[0].songId);
      else this.notify('queue', res.existing.length === 1 ? 'One file was already separated with these settings.' : `${res.existing.length} files were already separated with these settings.`, 'info');
    }
  }

  /** Queues a song whose stems were deleted for separation again (its file, model and overlap). */
  async separateAgain(songId: string): Promise<boolean> {
    const job = await this.guard('mixer', () => this.api!.call('library.separateAgain', { id: songId }));
    if (!job) return false;
    if (!this.jobs.some((x) => x.id === job.id)) this.jobs = [...this.jobs, job];
    return true;
  }

  /** Dropped or chosen File objects: made openable through the API, then opened (`since`: when they were dropped). */
  async openFiles(files: File[], since = performance.now()): Promise<void> {
    if (files.length === 0) return;
    this.uploading = { names: files.map((f) => f.name), fraction: 0 };
    try {
      const paths = await this.api!.importFiles(files, (f) => {
        if (this.uploading) this.uploading.fraction = f;
      });
      await this.openPaths(paths, since);
    } catch (e) {
      this.notify('queue', errorText(e));
    } finally {
      this.uploading = null;
    }
  }

  /** performance.now() when the last song was opened (time-to-first-audio measurement). */
  openedAt: number | null = null;

  /** Start playback as soon as the opened song is ready. */
  autoplay = false;

  openSong(id: string, play = false): void {
    this.openJobId = null;
    this.openedAt = performance.now();
    performance.mark('stemdeck:open');
    this.autoplay = play;
    this.openSongId = id;
    this.view = 'mixer';
  }

  /** Opens a running job's song in the mixer while it separates (`since`: when the user asked, for time to first audio). */
  openJob(id: string, play = false, since = performance.now()): void {
    this.openedAt = since;
    performance.mark('stemdeck:open');
    this.autoplay = play;
    this.openSongId = null;
    this.openJobId = id;
    this.view = 'mixer';
  }
}

export const app = new AppState();
