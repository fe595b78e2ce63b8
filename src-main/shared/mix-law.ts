/**
 * The one gain and pan law of Stemdeck's mixer, shared by Web Audio playback (renderer)
 * and the engine's offline mixdown export, so that what is exported equals what was heard.
 *
 * Pure functions only: no Node, DOM or Web Audio imports.
 *
 * Units:
 * - volume: decibels, fader range [FADER_MIN_DB, FADER_MAX_DB]; at FADER_MIN_DB (the bottom) the
 *   fader is −∞ dB (silence).
 * - pan: −1 (hard left) … 0 (centre) … +1 (hard right).
 * - audio: planar `Float32Array[]` = [channels][frames]; 1 or 2 channels in, always 2 out.
 * - time: seconds.
 *
 * Playback graph per lane (architecture.md): source → GainNode(laneGain) → StereoPannerNode(pan)
 * → AnalyserNode → master GainNode(masterGain) → destination. `mixdown()` computes exactly that
 * graph offline (StereoPannerNode's equal-power law including its stereo-input rule).
 */

/** Bottom of the fader: this value and anything below it means −∞ dB (gain 0). */
export const FADER_MIN_DB = -60;
/** Top of the fader. */
export const FADER_MAX_DB = 6;
/** Step of the fader and of its keyboard arrows, in dB. */
export const FADER_STEP_DB = 0.5;
/** Pan step for keyboard arrows. */
export const PAN_STEP = 0.05;
/**
 * Time constant (s) of the `setTargetAtTime` ramps applied to every gain and pan change during
 * playback: 99 % settled after ≈ 4.6 τ ≈ 70 ms, short enough to feel immediate, long enough to
 * avoid clicks and zipper noise.
 */
export const RAMP_TIME_CONSTANT = 0.015;
/** Shortest loop region (s); a drag shorter than this is a click (seek), not a loop. */
export const MIN_LOOP_SECONDS = 0.05;

/** The state of one lane (one stem) as the mixer saves it with the song. */
export interface LaneMix {
  /** Fader position in dB; ≤ FADER_MIN_DB means −∞. */
  volumeDb: number;
  /** −1 … +1. */
  pan: number;
  mute: boolean;
  solo: boolean;
}

export interface MixState {
  /** Lanes by stem name. Stems absent here play at the default (0 dB, centre, unmuted). */
  lanes: Record<string, LaneMix>;
  /** Master fader in dB; ≤ FADER_MIN_DB means −∞. */
  masterDb: number;
}

export const DEFAULT_LANE: Readonly<LaneMix> = Object.freeze({ volumeDb: 0, pan: 0, mute: false, solo: false });

export function defaultMix(stems: readonly string[]): MixState {
  return { lanes: Object.fromEntries(stems.map((s) => [s, { ...DEFAULT_LANE }])), masterDb: 0 };
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Fader dB → linear gain. The bottom of the fader (and below, and −∞, and NaN) is silence. */
export function dbToGain(db: number): number {
  if (!(db > FADER_MIN_DB)) return 0;
  return Math.pow(10, db / 20);
}

/** Linear gain → dB (−∞ for 0). */
export function gainToDb(gain: number): number {
  return gain > 0 ? 20 * Math.log10(gain) : -Infinity;
}

/** Clamps a fader value to its range and snaps it to FADER_STEP_DB. */
export function normalizeDb(db: number): number {
  if (!Number.isFinite(db)) return db > 0 ? FADER_MAX_DB : FADER_MIN_DB;
  return clamp(Math.round(db / FADER_STEP_DB) * FADER_STEP_DB, FADER_MIN_DB, FADER_MAX_DB);
}

/** Human text for a fader value: "−∞ dB", "0.0 dB", "+3.5 dB", "−12.0 dB". */
export function formatDb(db: number): string {
  if (!(db > FADER_MIN_DB)) return '−∞ dB';
  const s = Math.abs(db).toFixed(1);
  return db > 0.04 ? `+${s} dB` : db < -0.04 ? `−${s} dB` : '0.0 dB';
}

/** Human text for a pan value: "C", "L 30", "R 100". */
export function formatPan(pan: number): string {
  const p = Math.round(normalizePan(pan) * 100);
  return p === 0 ? 'C' : p < 0 ? `L ${-p}` : `R ${p}`;
}

/**
 * Whether a lane sounds. Rules: if any lane is soloed, only soloed lanes sound; mute always wins
 * (a lane that is both soloed and muted is silent, and still counts as "a solo exists").
 */
export function laneAudible(lane: LaneMix, anySolo: boolean): boolean {
  if (lane.mute) return false;
  return anySolo ? lane.solo : true;
}

export function anySolo(mix: MixState): boolean {
  return Object.values(mix.lanes).some((l) => l.solo);
}

/** The linear gain of a lane's GainNode: fader × mute/solo (0 or 1). Master is applied separately. */
export function laneGain(mix: MixState, stem: string): number {
  const lane = mix.lanes[stem] ?? DEFAULT_LANE;
  return laneAudible(lane, anySolo(mix)) ? dbToGain(lane.volumeDb) : 0;
}

export function laneGains(mix: MixState, stems: readonly string[]): Record<string, number> {
  const solo = anySolo(mix);
  return Object.fromEntries(
    stems.map((s) => {
      const lane = mix.lanes[s] ?? DEFAULT_LANE;
      return [s, laneAudible(lane, solo) ? dbToGain(lane.volumeDb) : 0];
    }),
  );
}

export function masterGain(mix: MixState): number {
  return dbToGain(mix.masterDb);
}

/**
 * StereoPannerNode's equal-power gains (Web Audio spec, "StereoPannerNode" processing):
 * - mono input:   x = (pan + 1) / 2
 * - stereo input: x = pan + 1 when pan ≤ 0, x = pan when pan > 0
 * gainL = cos(x·π/2), gainR = sin(x·π/2).
 */
/** Pan clamped to [−1, 1]; NaN → 0 (centre). */
export function normalizePan(pan: number): number {
  return Number.isNaN(pan) ? 0 : clamp(pan, -1, 1);
}

export function panGains(pan: number, inputChannels: 1 | 2): { x: number; gainL: number; gainR: number } {
  const p = normalizePan(pan);
  const x = inputChannels === 1 ? (p + 1) / 2 : p <= 0 ? p + 1 : p;
  return { x, gainL: Math.cos((x * Math.PI) / 2), gainR: Math.sin((x * Math.PI) / 2) };
}

/**
 * Applies StereoPannerNode's law to one frame. Mono: L = in·gainL, R = in·gainR.
 * Stereo, pan ≤ 0: L = inL + inR·gainL, R = inR·gainR. Stereo, pan > 0: L = inL·gainL, R = inR + inL·gainR.
 */
export function panFrame(pan: number, left: number, right: number | undefined): [number, number] {
  if (right === undefined) {
    const { gainL, gainR } = panGains(pan, 1);
    return [left * gainL, left * gainR];
  }
  const { gainL, gainR } = panGains(pan, 2);
  if (normalizePan(pan) <= 0) return [left + right * gainL, right * gainR];
  return [left * gainL, right + left * gainR];
}

export interface MixInput {
  stem: string;
  /** Planar [channels][frames], 1 or 2 channels, all inputs at the same sample rate. */
  audio: Float32Array[];
}

/**
 * Offline mixdown of the playback graph: Σ_lanes pan(laneGain · stem) · masterGain.
 * Returns planar stereo [2][frames] with frames = the longest input (shorter inputs are zero-padded).
 * Accumulates in float64 and rounds once to float32, like a single Web Audio summing junction would
 * to within float32 precision.
 */
export function mixdown(inputs: readonly MixInput[], mix: MixState): [Float32Array, Float32Array] {
  const frames = inputs.reduce((n, i) => Math.max(n, i.audio[0]?.length ?? 0), 0);
  const accL = new Float64Array(frames);
  const accR = new Float64Array(frames);
  const gains = laneGains(
    mix,
    inputs.map((i) => i.stem),
  );
  for (const input of inputs) {
    const g = gains[input.stem];
    if (g === 0 || input.audio.length === 0) continue;
    const pan = (mix.lanes[input.stem] ?? DEFAULT_LANE).pan;
    const l = input.audio[0];
    const r = input.audio.length >= 2 ? input.audio[1] : undefined;
    if (r === undefined) {
      const { gainL, gainR } = panGains(pan, 1);
      for (let i = 0; i < l.length; i++) {
        const v = l[i] * g;
        accL[i] += v * gainL;
        accR[i] += v * gainR;
      }
    } else {
      const { gainL, gainR } = panGains(pan, 2);
      const n = Math.min(l.length, r.length);
      if (normalizePan(pan) <= 0) {
        for (let i = 0; i < n; i++) {
          accL[i] += g * (l[i] + r[i] * gainL);
          accR[i] += g * r[i] * gainR;
        }
      } else {
        for (let i = 0; i < n; i++) {
          accL[i] += g * l[i] * gainL;
          accR[i] += g * (r[i] + l[i] * gainR);
        }
      }
    }
  }
  const m = masterGain(mix);
  const outL = new Float32Array(frames);
  const outR = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    outL[i] = accL[i] * m;
    outR[i] = accR[i] * m;
  }
  return [outL, outR];
}

/** Mix presets for one-click export and the mixer. Stems not named by the preset keep their state. */
export type MixPreset = 'instrumental' | 'acappella' | 'drumless' | 'bassless' | 'all';

export const PRESET_LABELS: Record<MixPreset, string> = {
  all: 'Full mix',
  instrumental: 'Instrumental (no vocals)',
  acappella: 'A cappella (vocals only)',
  drumless: 'Drumless',
  bassless: 'Bassless',
};

/** Which stems a preset keeps. Vocals are any stem whose name starts with "vocal". */
export function presetStems(preset: MixPreset, stems: readonly string[]): string[] {
  const isVocal = (s: string) => s.startsWith('vocal');
  switch (preset) {
    case 'all':
      return [...stems];
    case 'instrumental':
      return stems.filter((s) => !isVocal(s));
    case 'acappella':
      return stems.filter(isVocal);
    case 'drumless':
      return stems.filter((s) => s !== 'drums');
    case 'bassless':
      return stems.filter((s) => s !== 'bass');
  }
}

/** Applies a preset: kept stems unmuted, others muted, all solos cleared; faders and pans unchanged. */
export function applyPreset(mix: MixState, preset: MixPreset, stems: readonly string[]): MixState {
  const keep = new Set(presetStems(preset, stems));
  const lanes: Record<string, LaneMix> = {};
  for (const s of stems) lanes[s] = { ...(mix.lanes[s] ?? DEFAULT_LANE), mute: !keep.has(s), solo: false };
  return { ...mix, lanes };
}

// ---------------------------------------------------------------------------------------------
// Loop maths.

export interface LoopRegion {
  start: number;
  end: number;
}

/**
 * A loop region from a drag between two times (any order), clamped to [0, duration].
 * Returns null when the result is shorter than MIN_LOOP_SECONDS (treat the drag as a click).
 */
export function loopFromDrag(a: number, b: number, duration: number): LoopRegion | null {
  const start = clamp(Math.min(a, b), 0, duration);
  const end = clamp(Math.max(a, b), 0, duration);
  return end - start >= MIN_LOOP_SECONDS ? { start, end } : null;
}

/**
 * Where the playhead is `elapsed` seconds after playback started at `offset`.
 * Without a loop: offset + elapsed, clamped to duration. With a loop (and offset < loop.end, which
 * `startOffset` guarantees), the playhead wraps from loop.end back to loop.start, exactly as an
 * AudioBufferSourceNode with loop=true, loopStart, loopEnd does.
 */
export function playheadAt(offset: number, elapsed: number, duration: number, loop: LoopRegion | null): number {
  const t = offset + Math.max(0, elapsed);
  if (!loop || loop.end - loop.start < MIN_LOOP_SECONDS || offset >= loop.end) return clamp(t, 0, duration);
  if (t < loop.end) return t;
  const len = loop.end - loop.start;
  return loop.start + ((t - loop.end) % len);
}

/**
 * Where to start the sources from position `pos`: with a loop, a position outside the region starts
 * at loop.start (so the AudioBufferSourceNode loop engages); at the end of the song, from 0.
 */
export function startOffset(pos: number, duration: number, loop: LoopRegion | null): number {
  if (loop && loop.end - loop.start >= MIN_LOOP_SECONDS && (pos < loop.start || pos >= loop.end)) return loop.start;
  if (pos >= duration || pos < 0) return 0;
  return pos;
}

/** Whether playback without a loop has reached the end. */
export function reachedEnd(pos: number, duration: number, loop: LoopRegion | null): boolean {
  return !loop && pos >= duration - 1e-3;
}

/** m:ss.t for transport display (e.g. "1:05.3"); negative or NaN shown as 0. */
export function formatTime(seconds: number, withTenths = true): string {
  const s = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  const sec = withTenths ? rest.toFixed(1).padStart(4, '0') : Math.floor(rest).toString().padStart(2, '0');
  return `${m}:${sec === '60.0' ? '59.9' : sec}`;
}
