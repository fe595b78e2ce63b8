/**
 * Evaluation of a separation model on real multitrack music used by `stemdeck eval`.
 *
 * Dataset layouts (found recursively, up to 3 folder levels, sorted by path):
 * - MUSDB18-style `*.stem.mp4`: audio streams 0 mixture, 1 drums, 2 bass, 3 other, 4 vocals;
 * - track folders (MUSDB18-HQ style): `mixture.<ext>` plus one audio file per stem, named after
 *   the stem (`vocals.wav`, `drums.flac`, …); PATH may also be one such folder or one .stem.mp4.
 *
 * Everything is decoded with the engine's ffmpeg decoder to planar float32 [2][frames] at
 * 44.1 kHz (museval's 1-second frames assume 44.1 kHz). Per track and stem:
 * - `sdr`    whole-track SDR, MDX definition (metrics.sdr);
 * - `csdr`   museval v4 SDR, median over 1-s frames (metrics.bssEvalV4Sdr, all evaluated stems
 *            together, as museval.eval_mus_track does);
 * - `sisdr`  SI-SDR (metrics.siSdr);
 * - `oracle` whole-track SDR of the oracle ideal ratio mask — the power ratio
 *            |S_j|² / Σ_k |S_k|² over the stems present, STFT 4096 / hop 1024 (periodic Hann,
 *            centred), applied to the decoded mixture's STFT: the ceiling of a masking model;
 * - `floor`  whole-track SDR of the mixture itself used as the estimate.
 * On ../shared/eval/musdb18-7s this reproduces the README's table (floor −1.63/−4.17/−6.77/−7.85,
 * oracle 15.31/12.47/10.55/10.26, vocals/drums/bass/other; checked by test/cli/eval.test.ts).
 * Over tracks: sdr, sisdr, oracle and floor are means (as the MDX challenges report uSDR), csdr is
 * the median of the per-track medians (as SiSEC/museval report cSDR).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeAll } from './decode.js';
import { StemdeckError } from './errors.js';
import { bssEvalV4, bssEvalV4Sdr, mean, nanMedian, sdr, siSdr } from './metrics.js';
import { Stft } from './stft.js';

export const EVAL_SAMPLE_RATE = 44100;
export const EVAL_CHANNELS = 2;
/** MUSDB18 .stem.mp4 stream order after the mixture (stream 0). */
export const MUSDB_STEMS = ['drums', 'bass', 'other', 'vocals'] as const;
/** Report order of the usual stems; others follow alphabetically. */
const STEM_ORDER = ['vocals', 'drums', 'bass', 'other', 'accompaniment', 'instrumental'];
/**
 * Two-stem models' "everything but the vocals" stems: when a model outputs one of these and the
 * dataset has vocals plus other stems, its reference is the sum of the non-vocal stems, its oracle
 * the ideal ratio mask over {vocals, it}, and (as museval.eval_mus_track does for "accompaniment")
 * vocals and it are scored together, apart from the other stems.
 */
export const ACCOMPANIMENT_STEMS = ['accompaniment', 'instrumental'];
const AUDIO_EXT = /\.(wav|flac|mp3|m4a|aac|ogg|opus|aif|aiff|wv|mp4)$/i;

export interface AudioRef {
  file: string;
  /** Index among the file's audio streams. */
  stream: number;
}

export interface EvalTrack {
  name: string;
  mixture: AudioRef;
  stems: Record<string, AudioRef>;
}

export interface StemScores {
  /** null when no model was evaluated (`--model none`). */
  sdr: number | null;
  csdr: number | null;
  sisdr: number | null;
  oracle: number;
  floor: number;
  /** With `bss`: museval's image-to-spatial, interference and artifact ratios (median of 1-s frames). */
  isr?: number | null;
  sir?: number | null;
  sar?: number | null;
  /** The reference is silent in this track (e.g. a song without bass): its SDR says nothing about
   * the model (≈ −85 dB against zeros), so it is left out of the means over tracks. */
  silent?: true;
}

/** Reference RMS below this (−80 dBFS) counts as silent. */
const SILENT_RMS = 1e-4;

function isSilent(x: Float32Array[]): boolean {
  let e = 0;
  let n = 0;
  for (const ch of x) {
    for (let i = 0; i < ch.length; i++) e += ch[i] * ch[i];
    n += ch.length;
  }
  return n === 0 || Math.sqrt(e / n) < SILENT_RMS;
}

export interface TrackResult {
  name: string;
  frames: number;
  stems: Record<string, StemScores>;
  /** Model wall time for this track (s), when a model ran. */
  seconds?: number;
}

export interface EvalReport {
  model: string | null;
  tracks: number;
  stems: Record<string, StemScores>;
  perTrack: TrackResult[];
}

/** Separates `input` into `outDir`, resolving to stem → written file. Injected by the caller (the CLI uses the engine's separateFile). */
export type SeparateFn = (input: AudioRef, outDir: string, signal?: AbortSignal) => Promise<{ model: string; outputs: Record<string, string> }>;

export interface EvaluateOptions {
  dataset: string;
  /** Runs the model; omitted = only the oracle ceiling and the mixture floor. */
  separate?: SeparateFn;
  modelId?: string | null;
  /** The model's stems (lets two-stem models' accompaniment/instrumental be scored). */
  modelStems?: string[];
  /** Also compute ISR/SIR/SAR with museval's 512-tap distortion filters (slow: minutes per track). */
  bss?: boolean;
  signal?: AbortSignal;
  onTrack?: (event: { index: number; total: number; name: string; stage: 'decode' | 'oracle' | 'separate' | 'score' | 'done' }) => void;
}

function sortStems(names: string[]): string[] {
  return [...names].sort((a, b) => {
    const ia = STEM_ORDER.indexOf(a);
    const ib = STEM_ORDER.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.localeCompare(b);
  });
}

function trackFromFolder(dir: string, files: string[]): EvalTrack | null {
  const audio = files.filter((f) => AUDIO_EXT.test(f) && !f.startsWith('.'));
  const mixture = audio.find((f) => /^mixture\./i.test(f));
  if (!mixture) return null;
  const stems: Record<string, AudioRef> = {};
  for (const f of audio) {
    if (f === mixture) continue;
    const stem = f.replace(AUDIO_EXT, '').toLowerCase();
    if (!/^[a-z][a-z0-9_-]*$/.test(stem)) continue;
    stems[stem] = { file: path.join(dir, f), stream: 0 };
  }
  // An accompaniment file beside the individual stems (DSD100 style) overlaps them: leave it out (it is
  // derived from the stems when a two-stem model asks for it), or the oracle would count it twice.
  const own = Object.keys(stems).filter((n) => !ACCOMPANIMENT_STEMS.includes(n));
  if (own.length >= 2) for (const n of ACCOMPANIMENT_STEMS) delete stems[n];
  if (Object.keys(stems).length === 0) return null;
  return { name: path.basename(dir), mixture: { file: path.join(dir, mixture), stream: 0 }, stems };
}

function trackFromStemMp4(file: string): EvalTrack {
  const stems: Record<string, AudioRef> = {};
  MUSDB_STEMS.forEach((s, i) => (stems[s] = { file, stream: i + 1 }));
  return { name: path.basename(file).replace(/\.stem\.mp4$/i, ''), mixture: { file, stream: 0 }, stems };
}

/** Finds the tracks of a dataset folder (or a single track). Throws StemdeckError when there are none. */
export function findTracks(dataset: string): EvalTrack[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dataset);
  } catch {
    throw new StemdeckError('input-missing', `Dataset not found: "${dataset}". Pass a folder of tracks or a .stem.mp4 file.`);
  }
  if (st.isFile()) {
    if (/\.stem\.mp4$/i.test(dataset)) return [trackFromStemMp4(path.resolve(dataset))];
    throw new StemdeckError('input-not-audio', `"${dataset}" is not a .stem.mp4 file. Pass a MUSDB-style .stem.mp4 or a folder of tracks.`);
  }
  const tracks: EvalTrack[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = entries.filter((e) => e.isFile()).map((e) => e.name);
    const folderTrack = trackFromFolder(dir, names);
    if (folderTrack) {
      tracks.push(folderTrack);
      return;
    }
    for (const n of names.sort()) if (/\.stem\.mp4$/i.test(n)) tracks.push(trackFromStemMp4(path.join(dir, n)));
    if (depth < 3)
      for (const e of entries.filter((x) => x.isDirectory() && !x.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name)))
        walk(path.join(dir, e.name), depth + 1);
  };
  walk(path.resolve(dataset), 0);
  if (tracks.length === 0)
    throw new StemdeckError(
      'input-not-audio',
      `No tracks found in "${dataset}": expected MUSDB-style .stem.mp4 files or folders with mixture.<ext> and one file per stem (vocals.wav, drums.wav, …).`,
    );
  return tracks;
}

async function load(ref: AudioRef, signal?: AbortSignal): Promise<Float32Array[]> {
  return decodeAll(ref.file, { sampleRate: EVAL_SAMPLE_RATE, channels: EVAL_CHANNELS, stream: ref.stream, signal });
}

/** Pads with zeros or truncates every channel to `length` frames. */
export function fitLength(x: Float32Array[], length: number): Float32Array[] {
  return x.map((ch) => {
    if (ch.length === length) return ch;
    const out = new Float32Array(length);
    out.set(ch.subarray(0, Math.min(length, ch.length)));
    return out;
  });
}

/**
 * Oracle ideal-ratio-mask estimates: for each stem j, iSTFT(X · |S_j|² / Σ_k |S_k|²), STFT 4096/1024,
 * where X is the mixture's STFT. Inputs planar [channels][frames]; outputs the same shape as `mixture`.
 */
export function oracleIrm(mixture: Float32Array[], references: Record<string, Float32Array[]>, nFft = 4096, hop = 1024): Record<string, Float32Array[]> {
  const stft = new Stft(nFft, hop, true);
  const names = Object.keys(references);
  const length = mixture[0].length;
  const out: Record<string, Float32Array[]> = {};
  for (const n of names) out[n] = [];
  for (let c = 0; c < mixture.length; c++) {
    const X = stft.forward(mixture[c]);
    const power: Float32Array[] = [];
    const total = new Float64Array(X.re.length);
    for (const n of names) {
      const S = stft.forward(fitLength(references[n], length)[c]);
      const p = new Float32Array(S.re.length);
      for (let i = 0; i < p.length; i++) {
        const v = S.re[i] * S.re[i] + S.im[i] * S.im[i];
        p[i] = v;
        total[i] += v;
      }
      power.push(p);
    }
    names.forEach((n, k) => {
      const p = power[k];
      const re = new Float32Array(X.re.length);
      const im = new Float32Array(X.re.length);
      for (let i = 0; i < re.length; i++) {
        const m = p[i] / (total[i] + 1e-20);
        re[i] = X.re[i] * m;
        im[i] = X.im[i] * m;
      }
      out[n].push(stft.inverse(re, im, X.bins, X.frames, length));
    });
  }
  return out;
}

/** Evaluates one track; `separate` optional (oracle/floor only without it). */
export async function evaluateTrack(
  track: EvalTrack,
  opts: {
    separate?: SeparateFn;
    /** The model's stems (to derive accompaniment references); default: only the dataset's stems are scored. */
    modelStems?: string[];
    bss?: boolean;
    signal?: AbortSignal;
    onStage?: (stage: 'decode' | 'oracle' | 'separate' | 'score') => void;
  } = {},
): Promise<TrackResult> {
  opts.onStage?.('decode');
  const mixture = await load(track.mixture, opts.signal);
  const length = mixture[0].length;
  const trackStems = sortStems(Object.keys(track.stems));
  const refs: Record<string, Float32Array[]> = {};
  for (const n of trackStems) refs[n] = fitLength(await load(track.stems[n], opts.signal), length);

  opts.onStage?.('oracle');
  const oracle = oracleIrm(mixture, refs);
  const stems: Record<string, StemScores> = {};
  for (const n of trackStems)
    stems[n] = { sdr: null, csdr: null, sisdr: null, oracle: sdr(refs[n], oracle[n]), floor: sdr(refs[n], mixture) };
  const derived = (opts.modelStems ?? []).filter((n) => ACCOMPANIMENT_STEMS.includes(n) && !refs[n]);
  const nonVocal = trackStems.filter((n) => n !== 'vocals');
  if (derived.length && refs.vocals && nonVocal.length) {
    const acc = mixture.map((_, c) => {
      const x = new Float32Array(length);
      for (const n of nonVocal) {
        const r = refs[n][c];
        for (let i = 0; i < length; i++) x[i] += r[i];
      }
      return x;
    });
    const accOracle = oracleIrm(mixture, { vocals: refs.vocals, accompaniment: acc }).accompaniment;
    for (const n of derived) {
      refs[n] = acc;
      stems[n] = { sdr: null, csdr: null, sisdr: null, oracle: sdr(acc, accOracle), floor: sdr(acc, mixture) };
    }
  }
  const names = sortStems(Object.keys(refs));
  for (const n of names) if (isSilent(refs[n])) stems[n].silent = true;

  let seconds: number | undefined;
  if (opts.separate) {
    opts.onStage?.('separate');
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'stemdeck-eval-'));
    try {
      const t0 = performance.now();
      const { outputs } = await opts.separate(track.mixture, tmp, opts.signal);
      seconds = (performance.now() - t0) / 1000;
      opts.onStage?.('score');
      const scored = names.filter((n) => outputs[n]);
      const ests: Record<string, Float32Array[]> = {};
      for (const n of scored) ests[n] = fitLength(await load({ file: outputs[n], stream: 0 }, opts.signal), length);
      for (const n of scored) {
        stems[n].sdr = sdr(refs[n], ests[n]);
        stems[n].sisdr = siSdr(refs[n], ests[n]);
      }
      // museval groups: the dataset's stems together; vocals + accompaniment apart (vocals' figures from there)
      const acc = scored.filter((n) => ACCOMPANIMENT_STEMS.includes(n) && derived.includes(n));
      const groups = [scored.filter((n) => !acc.includes(n))];
      if (acc.length && scored.includes('vocals')) groups.push(['vocals', ...acc]);
      for (const group of groups) {
        if (group.length === 0) continue;
        const refList = group.map((n) => refs[n]);
        const estList = group.map((n) => ests[n]);
        const full = opts.bss ? bssEvalV4(refList, estList) : null;
        const frames = full ? full.sdr : bssEvalV4Sdr(refList, estList);
        group.forEach((n, j) => {
          stems[n].csdr = nanMedian(frames[j]);
          if (full) {
            stems[n].isr = nanMedian(full.isr[j]);
            stems[n].sir = nanMedian(full.sir[j]);
            stems[n].sar = nanMedian(full.sar[j]);
          }
        });
      }
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }
  return { name: track.name, frames: length, stems, ...(seconds !== undefined ? { seconds } : {}) };
}

/** Aggregates per-track results: means for sdr/sisdr/oracle/floor, median of medians for csdr;
 * a stem's silent tracks are left out (all of them silent: the figures of those tracks). */
export function aggregate(results: TrackResult[]): Record<string, StemScores> {
  const names = sortStems([...new Set(results.flatMap((r) => Object.keys(r.stems)))]);
  const out: Record<string, StemScores> = {};
  const nums = (xs: (number | null | undefined)[]): number[] => xs.filter((x): x is number => typeof x === 'number');
  for (const n of names) {
    const present = results.map((r) => r.stems[n]).filter((s): s is StemScores => Boolean(s));
    const audible = present.filter((s) => !s.silent);
    const per = audible.length ? audible : present;
    const sdrs = nums(per.map((s) => s.sdr));
    const csdrs = nums(per.map((s) => s.csdr));
    const sisdrs = nums(per.map((s) => s.sisdr));
    out[n] = {
      sdr: sdrs.length ? mean(sdrs) : null,
      csdr: csdrs.length ? nanMedian(csdrs) : null,
      sisdr: sisdrs.length ? mean(sisdrs) : null,
      oracle: mean(per.map((s) => s.oracle)),
      floor: mean(per.map((s) => s.floor)),
    };
    for (const k of ['isr', 'sir', 'sar'] as const) {
      const v = nums(per.map((s) => s[k]));
      if (v.length) out[n][k] = nanMedian(v);
    }
  }
  return out;
}

export async function evaluateDataset(opts: EvaluateOptions): Promise<EvalReport> {
  const tracks = findTracks(opts.dataset);
  const perTrack: TrackResult[] = [];
  for (let i = 0; i < tracks.length; i++) {
    if (opts.signal?.aborted) throw new StemdeckError('cancelled', 'Cancelled.');
    const t = tracks[i];
    const r = await evaluateTrack(t, {
      separate: opts.separate,
      modelStems: opts.modelStems,
      bss: opts.bss,
      signal: opts.signal,
      onStage: (stage) => opts.onTrack?.({ index: i, total: tracks.length, name: t.name, stage }),
    });
    opts.onTrack?.({ index: i, total: tracks.length, name: t.name, stage: 'done' });
    perTrack.push(r);
  }
  return { model: opts.modelId ?? null, tracks: tracks.length, stems: aggregate(perTrack), perTrack };
}
