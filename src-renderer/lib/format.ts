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

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '–';
  const u = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
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
