export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  const h = Math.floor(m / 60);
  return h > 0 ? `${h}:${String(m % 60).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return 'estimating…';
  if (s < 1) return 'almost done';
  if (s < 60) return `${Math.ceil(s)} s left`;
  return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s left`;
}

/** Decimal units (1 MB = 10⁶ bytes), one decimal, as the CLI prints sizes: 304.4 MB in both. */
/** Settings' library stem formats, in the words the Settings panel uses. */
export const LIBRARY_FORMATS: { id: 'wav32f' | 'wav24' | 'wav16'; label: string; bytesPerSample: number }[] = [
  { id: 'wav32f', label: '32-bit float WAV (as separated)', bytesPerSample: 4 },
  { id: 'wav24', label: '24-bit WAV', bytesPerSample: 3 },
  { id: 'wav16', label: '16-bit WAV (CD quality)', bytesPerSample: 2 },
];

/** Bytes one minute of a song's stems takes in a library format (stereo PCM at `sampleRate`, `stems` files). */
export function libraryBytesPerMinute(format: 'wav32f' | 'wav24' | 'wav16', stems = 4, sampleRate = 44100): number {
  const f = LIBRARY_FORMATS.find((x) => x.id === format)!;
  return sampleRate * 60 * 2 * f.bytesPerSample * stems;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '–';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i > 0 ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

/** A ruler label m:ss with as many decimals as the tick step has (0.25 s → 0:03.75, never 0:03.8). */
export function formatTick(seconds: number, step: number): string {
  let decimals = 0;
  while (decimals < 3 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6) decimals++;
  const t = Math.max(0, Math.round(seconds * 10 ** decimals) / 10 ** decimals);
  const m = Math.floor(t / 60);
  const sec = (t - m * 60).toFixed(decimals).padStart(decimals ? 3 + decimals : 2, '0');
  return `${m}:${sec}`;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function formatParams(n: number): string {
  if (!n) return '–';
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${Math.round(n / 1e3)} k` : String(n);
}

/** Stable lane colours by stem name. */
const STEM_COLOURS: Record<string, string> = {
  vocals: '#ff7a90',
  drums: '#f0b54a',
  bass: '#4fb3ff',
  other: '#46c37b',
  piano: '#c58cff',
  guitar: '#ff9f5a',
  instrumental: '#5ad1c8',
  accompaniment: '#5ad1c8',
};
const EXTRA = ['#c58cff', '#5ad1c8', '#ff9f5a', '#e0e070', '#8fa2ff'];

export function stemColour(name: string, index = 0): string {
  return STEM_COLOURS[name] ?? EXTRA[index % EXTRA.length];
}

/** A song's detected tempo and key, "120 BPM · A minor" (either part may be missing; '' for neither). */
export function formatMusic(song: { tempo?: number; key?: string }): string {
  return [song.tempo ? `${Math.round(song.tempo * 10) / 10} BPM` : '', song.key ?? ''].filter(Boolean).join(' · ');
}
