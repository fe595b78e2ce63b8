/**
 * Web Audio playback of a separated song: one lane per stem.
 *
 * Graph per lane: AudioBufferSourceNode → GainNode (fader · mute · solo) → StereoPannerNode
 * → AnalyserNode → master GainNode → master AnalyserNode → destination.
 * Gains and pans follow src-main/shared/mix-law.ts, the same law the engine's mixdown export
 * uses. Every change is a setTargetAtTime ramp (no clicks, no zipper noise). All sources of
 * one play start at the same context time (sample-locked).
 *
 * While a song separates (live mode) one more lane, the fill, plays the mixture where the stems are
 * not separated yet (its buffer is the mixture with the separated regions silenced, the stems'
 * buffers are silent outside them): through the master only, while any lane is audible and the
 * fill is on (the listener's choice). Writing into the buffers and `refresh()` makes the new
 * samples heard (a spec browser plays a started buffer's contents as they were at start).
 */
import {
  RAMP_TIME_CONSTANT,
  laneGains,
  masterGain,
  normalizePan,
  playheadAt,
  startOffset,
  type LoopRegion,
  type MixState,
} from '$shared/mix-law.js';

/** Lead time between scheduling and the common start time of all sources (s). */
const START_LEAD = 0.02;
/** Envelope time constant for starts and stops (s). */
const FADE_TIME_CONSTANT = 0.003;

interface Lane {
  stem: string;
  buffer: AudioBuffer;
  gain: GainNode;
  pan: StereoPannerNode;
  analyser: AnalyserNode;
  source: AudioBufferSourceNode | null;
  /** Per-play envelope (fades in at start, out at stop) so that starts and stops make no click. */
  envelope: GainNode | null;
}

export interface LevelReading {
  /** Peak of the last analyser window, linear (0…1+). */
  peak: number;
  /** RMS of the last analyser window, linear. */
  rms: number;
}

/** The fill lane's key (not a stem name: those are words, vocabulary.ts). */
const FILL = '\u0000fill';

let sharedContext: AudioContext | null = null;

/** One AudioContext for the app (browsers limit how many can exist). */
export function audioContext(): AudioContext {
  if (!sharedContext) sharedContext = new AudioContext({ latencyHint: 'interactive', sampleRate: 44100 });
  return sharedContext;
}

export class MixerPlayer {
  /** An AudioContext (playback) or an OfflineAudioContext (tests, offline checks). */
  readonly ctx: BaseAudioContext;
  readonly master: GainNode;
  readonly masterAnalyser: AnalyserNode;
  private lanes = new Map<string, Lane>();
  private playing = false;
  /** Context time at which the current play's sources start. */
  private startTime = 0;
  /** Song position (s) at startTime. */
  private startPos = 0;
  /** Position while paused. */
  private pausedAt = 0;
  private loopRegion: LoopRegion | null = null;
  private mix: MixState | null = null;
  private scratch = new Float32Array(2048);
  duration = 0;
  onEnded: (() => void) | null = null;

  constructor(ctx: BaseAudioContext = audioContext()) {
    this.ctx = ctx;
    this.master = ctx.createGain();
    this.masterAnalyser = ctx.createAnalyser();
    this.masterAnalyser.fftSize = 2048;
    this.master.connect(this.masterAnalyser);
    this.masterAnalyser.connect(ctx.destination);
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  get stems(): string[] {
    return [...this.lanes.keys()].filter((k) => k !== FILL);
  }

  /** Whether the fill lane plays (live mode: the mixture where the stems are not separated yet). */
  private fillOn = true;

  /**
   * The fill lane's buffer (the mixture, silenced where the stems are separated), or null to remove
   * it; `on`: whether it plays (else the unseparated parts are silent).
   */
  setFill(buffer: AudioBuffer | null, on = this.fillOn): void {
    this.fillOn = on;
    if (buffer) this.setBuffer(FILL, buffer);
    else {
      const lane = this.lanes.get(FILL);
      if (lane) {
        try {
          lane.source?.stop();
        } catch {
          /* never started */
        }
        lane.source?.disconnect();
        lane.envelope?.disconnect();
        lane.gain.disconnect();
        lane.pan.disconnect();
        lane.analyser.disconnect();
        this.lanes.delete(FILL);
      }
    }
    if (this.mix) this.applyMix(this.mix);
  }

  /** Starts the lanes' sources again on the same buffers, gaplessly, so that samples written into them are heard. */
  refresh(): void {
    const buffers = new Map([...this.lanes.values()].map((l) => [l.stem, l.buffer] as const));
    this.swapBuffers(buffers, !this.partial);
  }

  /** Adds (or replaces) a lane for a decoded stem. */
  setBuffer(stem: string, buffer: AudioBuffer): void {
    const old = this.lanes.get(stem);
    if (old) {
      try {
        old.source?.stop();
      } catch {
        /* never started */
      }
      old.buffer = buffer;
    } else {
      const gain = this.ctx.createGain();
      const pan = this.ctx.createStereoPanner();
      const analyser = this.ctx.createAnalyser();
      analyser.fftSize = 2048;
      gain.connect(pan);
      pan.connect(analyser);
      analyser.connect(this.master);
      this.lanes.set(stem, { stem, buffer, gain, pan, analyser, source: null, envelope: null });
    }
    this.duration = Math.max(this.duration, buffer.duration);
    if (this.mix) this.applyMix(this.mix, true);
  }

  /** Sets gains and pans from the mixer state; ramps unless `immediate`. */
  applyMix(mix: MixState, immediate = false): void {
    this.mix = mix;
    const now = this.ctx.currentTime;
    const gains = laneGains(mix, this.stems);
    gains[FILL] = this.fillOn && Object.values(gains).some((g) => g > 0) ? 1 : 0;
    const set = (param: AudioParam, value: number) => {
      if (immediate) {
        param.cancelScheduledValues(now);
        param.setValueAtTime(value, now);
      } else {
        param.setTargetAtTime(value, now, RAMP_TIME_CONSTANT);
      }
    };
    for (const lane of this.lanes.values()) {
      set(lane.gain.gain, gains[lane.stem] ?? 0);
      set(lane.pan.pan, normalizePan(mix.lanes[lane.stem]?.pan ?? 0));
    }
    set(this.master.gain, masterGain(mix));
  }

  get position(): number {
    if (!this.playing) return this.pausedAt;
    const elapsed = this.ctx.currentTime - this.startTime;
    return playheadAt(this.startPos, elapsed, this.duration, this.loopRegion);
  }

  get loop(): LoopRegion | null {
    return this.loopRegion;
  }

  /** Starts every lane at the same context time from `from` (default: the current position). */
  async play(from?: number): Promise<void> {
    if (this.ctx instanceof AudioContext && this.ctx.state !== 'running') await this.ctx.resume();
    const pos = startOffset(from ?? this.position, this.duration, this.loopRegion);
    this.stopSources();
    const when = this.ctx.currentTime + START_LEAD;
    let first = true;
    for (const lane of this.lanes.values()) {
      this.startLane(lane, when, pos, true);
      if (first && lane.source) {
        const src = lane.source;
        src.onended = () => {
          // a partial (still loading) buffer ending is not the end of the song
          if (lane.source === src && this.playing && !this.partial) {
            this.playing = false;
            this.pausedAt = this.duration;
            this.onEnded?.();
          }
        };
        first = false;
      }
    }
    this.startTime = when;
    this.startPos = pos;
    this.playing = true;
  }

  private startLane(lane: Lane, when: number, pos: number, fadeIn: boolean): void {
    const src = this.ctx.createBufferSource();
    src.buffer = lane.buffer;
    if (this.loopRegion) {
      src.loop = true;
      src.loopStart = this.loopRegion.start;
      src.loopEnd = this.loopRegion.end;
    }
    const env = this.ctx.createGain();
    if (fadeIn) {
      env.gain.setValueAtTime(0, when);
      env.gain.setTargetAtTime(1, when, FADE_TIME_CONSTANT);
    }
    src.connect(env);
    env.connect(lane.gain);
    lane.envelope = env;
    // a position past this buffer (still loading) plays silence until swapBuffers()
    if (pos < lane.buffer.duration) src.start(when, pos);
    lane.source = src;
  }

  /** Whether the lanes hold only the first seconds of their stems (the rest is loading). */
  partial = false;

  /**
   * Replaces the lanes' buffers (the complete stems after the first seconds) without a gap:
   * while playing, new sources start at one future context time at the position reached by then,
   * and the old ones stop at that same time.
   */
  swapBuffers(buffers: Map<string, AudioBuffer>, complete = true): void {
    const when = this.ctx.currentTime + START_LEAD * 2;
    const pos = this.playing ? playheadAt(this.startPos, when - this.startTime, this.duration, this.loopRegion) : 0;
    for (const [stem, b] of buffers) {
      const lane = this.lanes.get(stem);
      if (!lane) continue;
      lane.buffer = b;
      this.duration = Math.max(this.duration, b.duration);
    }
    this.partial = !complete;
    if (!this.playing) return;
    let first = true;
    for (const lane of this.lanes.values()) {
      const old = lane.source;
      const oldEnv = lane.envelope;
      if (old) {
        old.onended = () => {
          old.disconnect();
          oldEnv?.disconnect();
        };
        try {
          old.stop(when);
        } catch {
          /* not started (position was past the partial buffer) */
          old.disconnect();
          oldEnv?.disconnect();
        }
      }
      this.startLane(lane, when, pos, false);
      if (first && lane.source) {
        const src = lane.source;
        src.onended = () => {
          if (lane.source === src && this.playing && !this.partial) {
            this.playing = false;
            this.pausedAt = this.duration;
            this.onEnded?.();
          }
        };
        first = false;
      }
    }
    this.startTime = when;
    this.startPos = pos;
  }

  pause(): void {
    if (!this.playing) return;
    this.pausedAt = this.position;
    this.playing = false;
    this.stopSources();
  }

  async toggle(): Promise<void> {
    if (this.playing) this.pause();
    else await this.play();
  }

  async seek(t: number): Promise<void> {
    const pos = Math.max(0, Math.min(this.duration, t));
    if (this.playing) await this.play(pos);
    else this.pausedAt = pos;
  }

  async setLoop(loop: LoopRegion | null): Promise<void> {
    // the position under the region that was playing: read after the change, a play that has
    // wrapped round the old loop would jump to start + all the time elapsed
    const pos = this.position;
    this.loopRegion = loop;
    if (this.playing) await this.play(loop && (pos < loop.start || pos >= loop.end) ? loop.start : pos);
  }

  /** Current level of one lane (post fader and pan), or of the master when stem is null. */
  level(stem: string | null): LevelReading {
    const analyser = stem === null ? this.masterAnalyser : this.lanes.get(stem)?.analyser;
    if (!analyser || !this.playing) return { peak: 0, rms: 0 };
    if (this.scratch.length !== analyser.fftSize) this.scratch = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(this.scratch);
    let peak = 0;
    let sum = 0;
    for (const v of this.scratch) {
      const a = Math.abs(v);
      if (a > peak) peak = a;
      sum += v * v;
    }
    return { peak, rms: Math.sqrt(sum / this.scratch.length) };
  }

  /** Fades every playing source out over a few ms, then stops and disconnects it. */
  private stopSources(): void {
    const now = this.ctx.currentTime;
    for (const lane of this.lanes.values()) {
      const src = lane.source;
      const env = lane.envelope;
      if (!src) continue;
      src.onended = null;
      env?.gain.cancelScheduledValues(now);
      env?.gain.setTargetAtTime(0, now, FADE_TIME_CONSTANT);
      src.onended = () => {
        src.disconnect();
        env?.disconnect();
      };
      try {
        src.stop(now + 8 * FADE_TIME_CONSTANT);
      } catch {
        // never started (position was past a partial buffer)
        src.disconnect();
        env?.disconnect();
      }
      lane.source = null;
      lane.envelope = null;
    }
  }

  /**
   * Renders `mix` offline through the same graph as playback (GainNode → StereoPannerNode →
   * master GainNode), from `from` for `seconds` (default: the whole song). What you hear, as data:
   * used to check that exports equal playback.
   */
  async renderOffline(mix: MixState, from = 0, seconds = this.duration - from): Promise<AudioBuffer> {
    const sr = this.ctx.sampleRate;
    const frames = Math.max(1, Math.round(seconds * sr));
    const off = new OfflineAudioContext(2, frames, sr);
    const master = off.createGain();
    master.gain.value = masterGain(mix);
    master.connect(off.destination);
    const gains = laneGains(mix, this.stems);
    for (const lane of this.lanes.values()) {
      const src = off.createBufferSource();
      src.buffer = lane.buffer;
      const g = off.createGain();
      g.gain.value = gains[lane.stem] ?? 0;
      const p = off.createStereoPanner();
      p.pan.value = normalizePan(mix.lanes[lane.stem]?.pan ?? 0);
      src.connect(g).connect(p).connect(master);
      src.start(0, from);
    }
    return off.startRendering();
  }

  dispose(): void {
    this.playing = false;
    this.stopSources();
    for (const lane of this.lanes.values()) {
      lane.gain.disconnect();
      lane.pan.disconnect();
      lane.analyser.disconnect();
    }
    this.lanes.clear();
    this.master.disconnect();
    this.masterAnalyser.disconnect();
  }
}
