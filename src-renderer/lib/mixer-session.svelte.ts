/**
 * The open mixer's state and behaviour (Svelte 5 runes in a class, as shadcn-svelte's sidebar
 * context keeps its state): the song and its player, the mix and its one debounced save, the
 * transport, the loop, the visible window of the timeline, the selected lane, levels, and the
 * timings the tests and the bench read. MixerView creates one per opened song and hands it to
 * its parts (components/mixer/*) through `setMixerSession` / `getMixerSession`.
 *
 * Construct it during a component's initialisation: its effect (mix → Web Audio + save) lives
 * as long as that component.
 */
import { getContext, setContext } from 'svelte';
import type { Job, JobLive, MixStateT, Song } from '$api/contract.js';
import { anySolo, defaultMix, type LoopRegion } from '$shared/mix-law.js';
import { app, errorText } from './app.svelte.js';
import { DragOutFiles } from './mixer-session-dragout.js';
import { fetchFrames, LiveAudio, missingParts } from './mixer-session-live.js';
import { audioContext, MixerPlayer } from './player.js';
import { completePeaks, loadSong, type LoadedSong } from './songs.js';
import type { StemPeaks } from './peaks.js';

/** Quiet time after the last mixer change before it is saved with the song (ms). */
const SAVE_DELAY_MS = 500;
/** Seconds of the mixture a separating song needs before it can play. */
const LIVE_HEAD_SECONDS = 0.25;
/** Largest piece of a separating song's audio fetched at once (s). */
const LIVE_CHUNK_SECONDS = 30;
/** How often a playing separating song tells the engine where the playhead is (ms; also on every seek, play and pause). */
const PLAYHEAD_EVERY_MS = 2000;

/** A song while it separates (a running job in live mode). */
export interface LiveView {
  job: Job;
  live: JobLive;
  /** Separated regions that play (s), sorted. */
  separated: [number, number][];
  /** The segment the engine works on (s), or null. */
  separating: [number, number] | null;
}

export interface MixerTimings {
  /** ms from opening the song to a player with playable buffers. */
  readyMs: number | null;
  playRequestedMs: number | null;
  /** ms from opening the song to the first non-zero master level (time to first audio). */
  firstAudioMs: number | null;
  /** ms from opening the song to complete stems in the player. */
  completeMs: number | null;
  /** Buffer swaps while the stems grew. */
  swaps: number;
}

export class MixerSession {
  /** The library song (null while a job's song separates: `jobId`). */
  songId: string | null;
  /** The job whose song plays while it separates, or null. */
  readonly jobId: string | null;
  /** While the song separates: what plays, what is separated, where the engine works. */
  live = $state.raw<LiveView | null>(null);
  /** Why a separating song stopped (cancelled, failed): nothing of it is in the library. */
  liveEnded = $state<string | null>(null);
  /** Where the stems are not separated yet: play the mixture (true) or silence. */
  fillOn = $state(true);
  song = $state<Song | null>(null);
  /** Display peaks per stem. */
  peaks = $state.raw<Record<string, StemPeaks>>({});
  loadError = $state<string | null>(null);
  /** The song, when its stems were deleted to free disk space: the mixer offers to separate it again. */
  stemsDeleted = $state<{ title: string; source: { name: string } } | null>(null);
  mix = $state<MixStateT>({ lanes: {}, masterDb: 0, loop: null });
  loopRegion = $state<LoopRegion | null>(null);
  loopOn = $state(false);
  playing = $state(false);
  /** Playhead (s). */
  position = $state(0);
  duration = $state(0);
  /** Peak level per lane and of the master (linear), read once per animation frame. */
  levels = $state<Record<string, number>>({});
  masterLevel = $state(0);
  /** Index of the selected lane (keyboard M/S act on it). */
  selected = $state(0);
  exportOpen = $state(false);
  /** Visible window of the timeline (s). */
  viewStart = $state(0);
  viewLength = $state(0);

  readonly stems = $derived(this.song?.stems.map((s) => s.name) ?? this.live?.live.stems.map((s) => s.name) ?? []);
  readonly solo = $derived(anySolo(this.mix));
  readonly mixIsDefault = $derived(
    this.mix.masterDb === 0 && Object.values(this.mix.lanes).every((l) => l.volumeDb === 0 && l.pan === 0 && !l.mute && !l.solo),
  );

  /** Files of the lanes and the mixdown for dragging out. */
  readonly dragOut = new DragOutFiles(
    () => this.song?.id ?? null,
    () => $state.snapshot(this.mix),
  );
  readonly timings: MixerTimings = { readyMs: null, playRequestedMs: null, firstAudioMs: null, completeMs: null, swaps: 0 };
  player = $state.raw<MixerPlayer | null>(null);
  private readonly openedAt: number;
  private playWhenReady: boolean;
  /** Set when the view closes: a load finishing later must not start a player. */
  private disposed = false;
  private raf = 0;
  /** The open song's load (to let the rest of the stems stream in once playback started). */
  private loaded: LoadedSong | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSaved = '';
  /** Unsubscribes and timers of a separating song. */
  private readonly cleanups: (() => void)[] = [];
  private liveAudio: LiveAudio | null = null;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;

  /** A library song (`songId`), or a job's song while it separates (`jobId`). */
  constructor(songId: string | null, jobId: string | null = null) {
    this.songId = songId;
    this.jobId = jobId;
    this.openedAt = app.openedAt ?? performance.now();
    this.playWhenReady = app.autoplay;
    // Mixer changes → Web Audio (ramped) + saved with the song (debounced).
    $effect(() => {
      const snap = $state.snapshot(this.mix);
      this.player?.applyMix(snap);
      this.scheduleSave();
    });
  }

  /** Starts loading the song and the level meters (call once the view is mounted). */
  start(): void {
    performance.mark('stemdeck:mixer-mounted');
    if (this.playWhenReady) this.timings.playRequestedMs = 0;
    app.autoplay = false;
    if (this.jobId) this.openLive(this.jobId);
    else void this.open();
    this.raf = requestAnimationFrame(this.tick);
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.raf);
    for (const c of this.cleanups.splice(0)) c();
    this.flushSave();
    this.player?.dispose();
    this.player = null;
    this.exposeForTests(null);
  }

  private async open(): Promise<void> {
    if (!this.songId) return;
    try {
      const meta = await app.api!.call('library.get', { id: this.songId });
      if (meta.stemsDeletedAt) {
        this.stemsDeleted = meta;
        return;
      }
      const l = await loadSong(app.api!, this.songId);
      if (this.player !== null || this.disposed) return;
      this.song = l.song;
      const p = new MixerPlayer();
      for (const s of l.song.stems) {
        const b = l.buffers.get(s.name);
        if (b) p.setBuffer(s.name, b);
      }
      const saved = l.song.mixer;
      const base = defaultMix(l.song.stems.map((s) => s.name));
      this.mix = { lanes: { ...base.lanes, ...saved.lanes }, masterDb: saved.masterDb, loop: saved.loop ?? null };
      this.lastSaved = JSON.stringify(this.mix);
      this.loopRegion = saved.loop ?? null;
      this.loopOn = !!saved.loop;
      p.duration = Math.max(p.duration, l.duration);
      p.partial = !l.complete;
      p.applyMix($state.snapshot(this.mix), true);
      if (this.loopOn) await p.setLoop(this.loopRegion);
      if (this.disposed) {
        p.dispose();
        return;
      }
      p.onEnded = () => (this.playing = false);
      this.player = p;
      this.loaded = l;
      this.duration = p.duration;
      this.viewStart = 0;
      this.viewLength = this.duration;
      this.timings.readyMs = performance.now() - this.openedAt;
      this.exposeForTests(p);
      this.peaks = Object.fromEntries(l.peaks);
      if (this.playWhenReady) void this.play();
      void l.peaksLoaded.then(() => {
        if (this.player === p) this.peaks = Object.fromEntries(l.peaks);
      });
      if (l.complete) {
        void l.peaksLoaded.then(() =>
          setTimeout(() => {
            if (this.player === p && completePeaks(l, l.buffers)) this.peaks = Object.fromEntries(l.peaks);
          }, 30),
        );
      } else {
        void this.growBuffers(l, p);
      }
    } catch (e) {
      this.loadError = errorText(e);
    }
  }

  /** Swaps in longer beginnings of the stems as they arrive, then the complete stems. */
  private async growBuffers(l: LoadedSong, p: MixerPlayer): Promise<void> {
    try {
      const isComplete = (m: Map<string, AudioBuffer>) => [...m.values()].every((b) => b.duration >= l.duration - 1e-3);
      let current = [...l.buffers.values()];
      const swap = (m: Map<string, AudioBuffer>) => {
        const next = [...m.values()];
        if (next.every((b, i) => b === current[i])) return;
        current = next;
        p.swapBuffers(m, isComplete(m));
        this.timings.swaps++;
      };
      for (const stage of l.stages) {
        const buffers = await stage;
        if (this.player !== p) return;
        swap(buffers);
        if (isComplete(buffers)) break;
      }
      const full = await l.full;
      if (this.player !== p) return;
      swap(full);
      this.timings.completeMs = performance.now() - this.openedAt;
      await l.peaksLoaded;
      if (this.player !== p) return;
      if (completePeaks(l, full)) this.peaks = Object.fromEntries(l.peaks);
    } catch (e) {
      app.notify('mixer', errorText(e));
    }
  }

  private exposeForTests(p: MixerPlayer | null): void {
    (window as unknown as { __stemdeckMixer?: unknown }).__stemdeckMixer = p
      ? { player: p, timings: this.timings, songId: this.songId, jobId: this.jobId, live: () => this.live, getMix: () => $state.snapshot(this.mix) }
      : undefined;
  }

  private readonly tick = (): void => {
    this.raf = requestAnimationFrame(this.tick);
    const player = this.player;
    if (!player) return;
    this.position = player.position;
    this.playing = player.isPlaying;
    const lv: Record<string, number> = {};
    for (const s of this.stems) lv[s] = player.level(s).peak;
    this.levels = lv;
    this.masterLevel = player.level(null).peak;
    if (this.timings.playRequestedMs !== null && this.timings.firstAudioMs === null && this.masterLevel > 0)
      this.timings.firstAudioMs = performance.now() - this.openedAt;
    // follow the playhead
    if (this.playing && this.viewLength < this.duration && (this.position > this.viewStart + this.viewLength || this.position < this.viewStart))
      this.viewStart = Math.max(0, Math.min(this.duration - this.viewLength, this.position - this.viewLength * 0.1));
  };

  // ── a song while it separates ──────────────────────────────────────────────────

  private openLive(jobId: string): void {
    const api = app.api!;
    this.cleanups.push(api.on('job', (j) => j.id === jobId && this.onJob(j)));
    const timer = setInterval(() => this.playing && this.tellPlayhead(), PLAYHEAD_EVERY_MS);
    this.cleanups.push(() => clearInterval(timer));
    const known = app.jobs.find((j) => j.id === jobId);
    if (known) this.onJob(known);
  }

  private onJob(job: Job): void {
    if (this.disposed || this.liveEnded || this.songId) return;
    if (job.status === 'done' && job.songId) void this.becomeSong(job.songId);
    else if (job.status === 'failed' || job.status === 'cancelled') this.endLive(job);
    else if (job.live) {
      this.live = { job, live: job.live, separated: this.live?.separated ?? [], separating: this.secondsOf(job.live, job.live.separating) };
      this.pump();
    }
  }

  private secondsOf(live: JobLive, r: [number, number] | null): [number, number] | null {
    return r ? [r[0] / live.sampleRate, r[1] / live.sampleRate] : null;
  }

  /** Loads what the job has that the player has not (serially; one more round when called meanwhile). */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.pumpAgain = false;
        try {
          await this.loadLive();
        } catch (e) {
          // the job may have ended meanwhile (its files are gone): its event says what happened
          if (!this.liveEnded && !this.songId && this.live?.job.status === 'running') app.notify('mixer', errorText(e));
        }
      } while (this.pumpAgain && !this.disposed);
      this.pumping = null;
    })();
  }

  private async loadLive(): Promise<void> {
    const view = this.live;
    if (!view || this.disposed) return;
    const { live } = view;
    const api = app.api!;
    const SR = live.sampleRate;
    const C = live.channels;
    let audio = this.liveAudio;
    if (!audio) {
      // a quarter of a second of the mixture is enough to start: the decode runs far ahead of playback
      const head = Math.min(live.frames, Math.round(LIVE_HEAD_SECONDS * SR));
      if (live.mixture.frames < head && !live.mixture.done) return;
      const frames = live.mixture.done ? live.mixture.frames : Math.max(live.frames, live.mixture.frames) + SR; // an estimate until decoded: a second to spare
      audio = new LiveAudio(audioContext(), live, frames);
      audio.addMixture(0, await fetchFrames(api, live.mixture.ref, C, 0, Math.min(head, live.mixture.frames)));
      if (this.disposed || this.songId) return;
      this.startLivePlayer(audio, view);
    }
    let changed = false;
    // the rest of the mixture, as it is decoded
    while (audio.mixtureLoaded < live.mixture.frames && !this.disposed) {
      const to = Math.min(live.mixture.frames, audio.mixtureLoaded + LIVE_CHUNK_SECONDS * SR);
      audio.addMixture(audio.mixtureLoaded, await fetchFrames(api, live.mixture.ref, C, audio.mixtureLoaded, to));
      changed = true;
    }
    // the separated regions the player does not have yet
    for (const region of live.regions)
      for (const [a, b] of missingParts(audio.separated, region))
        for (let at = a; at < b && !this.disposed; at += LIVE_CHUNK_SECONDS * SR) {
          const to = Math.min(b, at + LIVE_CHUNK_SECONDS * SR);
          const stems = await Promise.all(live.stems.map((st) => fetchFrames(api, st.ref, C, at, to)));
          audio.addRegion(at, stems);
          changed = true;
        }
    if (!changed || this.disposed || this.songId) return;
    if (live.mixture.done && this.player) this.player.duration = live.mixture.frames / SR;
    this.duration = this.player?.duration ?? this.duration;
    if (this.playing) this.player?.refresh();
    this.peaks = Object.fromEntries(live.stems.map((st, i) => [st.name, audio.lanePeaks()[i]]));
    if (this.live) this.live = { ...this.live, separated: audio.separated.map(([a, b]) => [a / SR, b / SR] as [number, number]) };
  }

  private startLivePlayer(audio: LiveAudio, view: LiveView): void {
    const { live } = view;
    const p = new MixerPlayer();
    live.stems.forEach((st, i) => p.setBuffer(st.name, audio.stems[i]));
    p.setFill(audio.fill, this.fillOn);
    p.duration = (live.mixture.done ? live.mixture.frames : live.frames) / live.sampleRate;
    this.mix = defaultMix(live.stems.map((s) => s.name));
    p.applyMix($state.snapshot(this.mix), true);
    p.onEnded = () => (this.playing = false);
    this.liveAudio = audio;
    this.player = p;
    this.duration = p.duration;
    this.viewStart = 0;
    this.viewLength = this.duration;
    this.peaks = Object.fromEntries(live.stems.map((st, i) => [st.name, audio.lanePeaks()[i]]));
    this.timings.readyMs = performance.now() - this.openedAt;
    this.exposeForTests(p);
    if (this.playWhenReady) void this.play();
  }

  /** Where the stems are not separated yet: the mixture (true) or silence. */
  setFill(on: boolean): void {
    this.fillOn = on;
    if (this.liveAudio) this.player?.setFill(this.liveAudio.fill, on);
  }

  /** Tells the engine where the listener is, so that it separates there first. */
  private tellPlayhead(): void {
    if (!this.jobId || !this.live || this.songId || this.liveEnded) return;
    const seconds = Math.max(0, this.player?.position ?? this.position);
    app.api!.call('queue.playhead', { id: this.jobId, seconds, playing: this.playing }).catch(() => undefined);
  }

  /** The job is done: the song is in the library. Its stems replace the separating song's buffers without a gap. */
  private async becomeSong(songId: string): Promise<void> {
    this.songId = songId;
    app.openSongId = songId; // the library marks it as the open song; the view stays (App.svelte keys it by the job)
    if (!this.player) {
      // done before anything played (a short song): open it as any song
      this.live = null;
      return this.open();
    }
    try {
      const l = await loadSong(app.api!, songId);
      const full = await l.full;
      const p = this.player;
      if (this.disposed || !p) return;
      p.swapBuffers(full, true);
      p.setFill(null);
      p.duration = l.duration;
      this.duration = l.duration;
      this.liveAudio = null;
      this.live = null;
      this.lastSaved = JSON.stringify(l.song.mixer);
      this.song = l.song;
      this.loaded = l;
      this.exposeForTests(p);
      this.scheduleSave(); // what the listener mixed while it separated stays with the song
      await l.peaksLoaded;
      if (this.disposed) return;
      completePeaks(l, full);
      this.peaks = Object.fromEntries(l.peaks);
    } catch (e) {
      this.loadError = errorText(e);
    }
  }

  /** A cancelled or failed job: nothing of the song stays playable. */
  private endLive(job: Job): void {
    this.liveEnded =
      job.status === 'cancelled'
        ? `The separation of ${job.name} was cancelled; nothing was added to the library.`
        : `The separation of ${job.name} failed: ${job.error?.message ?? 'unknown error'}`;
    this.player?.dispose();
    this.player = null;
    this.liveAudio = null;
    this.live = null;
    this.playing = false;
    this.exposeForTests(null);
  }

  // ── saving (one debounce for the mix and the loop) ─────────────────────────────

  private scheduleSave(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.flushSave(), SAVE_DELAY_MS);
  }

  private flushSave(): void {
    clearTimeout(this.saveTimer);
    if (!this.song) return;
    const snap = { ...$state.snapshot(this.mix), loop: this.loopOn ? this.loopRegion : null };
    const json = JSON.stringify(snap);
    if (json === this.lastSaved) return;
    this.lastSaved = json;
    const id = this.song.id;
    app.api!.call('library.saveMixer', { id, mixer: snap }).catch((e) => app.notify('mixer', `The mixer settings could not be saved: ${errorText(e)}`));
  }

  // ── transport ──────────────────────────────────────────────────────────────────

  async play(): Promise<void> {
    this.timings.playRequestedMs ??= performance.now() - this.openedAt;
    if (!this.player) {
      this.playWhenReady = true;
      return;
    }
    await this.player.play();
    this.playing = true;
    this.loaded?.streamRest();
    this.tellPlayhead();
  }

  pause(): void {
    this.player?.pause();
    this.playing = false;
    this.tellPlayhead();
  }

  toggle(): void {
    if (this.playing) this.pause();
    else void this.play();
  }

  async seek(t: number): Promise<void> {
    await this.player?.seek(t);
    this.position = t;
    this.tellPlayhead();
  }

  /** Back to the loop's start when a loop is on, else to 0. */
  goToStart(): Promise<void> {
    return this.seek(this.loopOn && this.loopRegion ? this.loopRegion.start : 0);
  }

  async setLoop(r: LoopRegion | null, on = true): Promise<void> {
    this.loopRegion = r;
    this.loopOn = !!r && on;
    await this.player?.setLoop(this.loopOn ? r : null);
    this.scheduleSave();
  }

  async toggleLoop(): Promise<void> {
    if (this.loopRegion) await this.setLoop(this.loopRegion, !this.loopOn);
    else if (this.duration > 0) {
      // no region yet: loop the next 4 s (or what is visible)
      const start = this.position;
      const end = Math.min(this.duration, start + Math.min(4, this.viewLength));
      if (end - start > 0.05) await this.setLoop({ start, end });
    }
  }

  // ── the mix ────────────────────────────────────────────────────────────────────

  /** Every lane back to unity gain, centre, unmuted, no solo; master 0 dB (the loop stays). */
  resetMixer(): void {
    if (!this.song) return;
    const base = defaultMix(this.song.stems.map((s) => s.name));
    this.mix = { ...base, loop: this.mix.loop ?? null };
  }

  toggleMute(stem: string): void {
    this.mix.lanes[stem].mute = !this.mix.lanes[stem].mute;
  }

  toggleSolo(stem: string): void {
    this.mix.lanes[stem].solo = !this.mix.lanes[stem].solo;
  }

  /** Moves the lane selection up (−1) or down (+1) and focuses the lane's name. */
  selectBy(step: number): void {
    this.selected = Math.max(0, Math.min(this.stems.length - 1, this.selected + step));
    document.querySelector<HTMLElement>(`[data-lane-index="${this.selected}"] .lane-name`)?.focus();
  }

  // ── the visible window ─────────────────────────────────────────────────────────

  /** Zooms by `factor` (< 1 in) around the playhead when it is visible or playing, else the window's centre. */
  zoom(factor: number): void {
    if (this.duration <= 0) return;
    const centre =
      this.playing || (this.position >= this.viewStart && this.position <= this.viewStart + this.viewLength) ? this.position : this.viewStart + this.viewLength / 2;
    const len = Math.max(Math.min(1, this.duration), Math.min(this.duration, this.viewLength * factor));
    this.viewLength = len;
    this.viewStart = Math.max(0, Math.min(this.duration - len, centre - len / 2));
  }

  zoomToFit(): void {
    this.viewStart = 0;
    this.viewLength = this.duration;
  }

  /** Scrolls the window to start at `t` (kept inside the song). */
  scrollTo(t: number): void {
    this.viewStart = Math.max(0, Math.min(this.duration - this.viewLength, t));
  }

  /** Seconds at a fraction (0…1) of the visible window, kept inside the song. */
  timeAt(fraction: number): number {
    return Math.max(0, Math.min(this.duration, this.viewStart + fraction * this.viewLength));
  }

  // ── keyboard ───────────────────────────────────────────────────────────────────

  readonly onKey = (e: KeyboardEvent): void => {
    if (this.exportOpen || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target as HTMLElement | null;
    const tag = t?.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || t?.isContentEditable) return;
    const onSlider = t?.getAttribute('role') === 'slider';
    const stem = this.stems[this.selected];
    switch (e.key) {
      case ' ':
        e.preventDefault();
        this.toggle();
        break;
      case 'm':
      case 'M':
        if (stem) this.toggleMute(stem);
        break;
      case 's':
      case 'S':
        if (stem) this.toggleSolo(stem);
        break;
      case 'l':
      case 'L':
        void this.toggleLoop();
        break;
      case 'Home':
        if (onSlider) return;
        e.preventDefault();
        void this.goToStart();
        break;
      case 'ArrowLeft':
      case 'ArrowRight':
        if (onSlider) return;
        e.preventDefault();
        void this.seek(this.position + (e.key === 'ArrowLeft' ? -1 : 1) * (e.shiftKey ? 1 : 5));
        break;
      case 'ArrowUp':
      case 'ArrowDown':
        if (onSlider) return;
        e.preventDefault();
        this.selectBy(e.key === 'ArrowUp' ? -1 : 1);
        break;
      case '+':
      case '=':
        this.zoom(0.5);
        break;
      case '-':
        this.zoom(2);
        break;
    }
  };

  readonly onWheel = (e: WheelEvent): void => {
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      this.zoom(e.deltaY < 0 ? 0.8 : 1.25);
    } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      e.preventDefault();
      this.scrollTo(this.viewStart + ((e.shiftKey ? e.deltaY : e.deltaX) / 400) * this.viewLength);
    }
  };
}

const KEY = Symbol('stemdeck mixer session');

/** Makes `session` the mixer session of this component and its children. */
export function setMixerSession(session: MixerSession): MixerSession {
  return setContext(KEY, session);
}

/** The mixer session of the enclosing MixerView. */
export function getMixerSession(): MixerSession {
  const s = getContext<MixerSession | undefined>(KEY);
  if (!s) throw new Error('getMixerSession() outside a MixerView');
  return s;
}
