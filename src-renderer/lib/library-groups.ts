import type { SongSummary } from '$api/contract.js';

/** A song and its versions in the library: separations of it by different models or from different files. */
export interface SongGroup {
  key: string;
  title: string;
  artist: string | null;
  /** Newest first. */
  versions: SongSummary[];
}

/** The title to show: the song's title without an NI ".stem" left over from "x.stem.mp4". */
export function displayTitle(song: Pick<SongSummary, 'title'>): string {
  return song.title.replace(/\.stem$/i, '').trim() || song.title;
}

/** What makes two library entries versions of one song: the same title and artist, ignoring case and spacing. */
function songKey(song: SongSummary): string {
  const norm = (s: string) => s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
  return `${norm(displayTitle(song))}\u0000${norm(song.tags.artist ?? '')}`;
}

/** Groups the library's songs (newest first) by song; groups are ordered by their newest version. */
export function groupSongs(songs: readonly SongSummary[]): SongGroup[] {
  const groups = new Map<string, SongGroup>();
  const sorted = [...songs].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  for (const s of sorted) {
    const key = songKey(s);
    let g = groups.get(key);
    if (!g) {
      g = { key, title: displayTitle(s), artist: s.tags.artist ?? null, versions: [] };
      groups.set(key, g);
    }
    g.versions.push(s);
  }
  return [...groups.values()];
}

/** What tells one version from another: its file name and model (and duration when the files differ). */
export function versionLabel(song: SongSummary): string {
  return `${song.sourceName} · ${song.model.name}`;
}
