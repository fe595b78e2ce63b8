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
import type { MixStateT, Song } from '$api/contract.js';
import { anySolo, defaultMix, type LoopRegion } from '$shared/mix-law.js';
import { app, errorText } from './app.svelte.js';
import { DragOutFiles } from './mixer-session-dragout.js';
import { MixerPlayer } from './player.js';
import { completePeaks, loadSong, type LoadedSong } from './songs.js';
import type { StemPeaks } from './peaks.js';

/** Quiet time after the last mixer change before it is saved with the song (ms). */
const SAVE_DELAY_MS = 500;

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
  readonly songId: string;
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

  readonly stems = $derived(this.song?.stems.map((s) => s.name) ?? []);
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
  player: MixerPlayer | null = null;
  private readonly openedAt: number;
  private playWhenReady: boolean;
  /** Set when the view closes: a load finishing later must not start a player. */
  private disposed = false;
  private raf = 0;
  /** The open song's load (to let the rest of the stems stream in once playback started). */
  private loaded: LoadedSong | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSaved = '';

  constructor(songId: string) {
    this.songId = songId;
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
    void this.open();
    this.raf = requestAnimationFrame(this.tick);
  }

  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.raf);
    this.flushSave();
    this.player?.dispose();
    this.player = null;
    this.exposeForTests(null);
  }

  private async open(): Promise<void> {
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
      ? { player: p, timings: this.timings, songId: this.songId, getMix: () => $state.snapshot(this.mix) }
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
  }

  pause(): void {
    this.player?.pause();
    this.playing = false;
  }

  toggle(): void {
    if (this.playing) this.pause();
    else void this.play();
  }

  async seek(t: number): Promise<void> {
    await this.player?.seek(t);
    this.position = t;
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
