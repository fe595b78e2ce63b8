/**
 * File and folder names made from user text (song titles, input names) that every file system we
 * target accepts: no path separators or characters Windows forbids, no trailing dot or space, no
 * reserved device name, and short enough.
 *
 * "Short enough" is the per-name limit: 255 bytes of UTF-8 (ext4, btrfs, xfs, APFS) and 255 UTF-16
 * units (NTFS, exFAT, HFS+, which stores names decomposed, NFD). A name is measured both ways and
 * the larger count is kept under 255. Names are cut between graphemes (a user-perceived
 * character: a surrogate pair, a letter with its accents, an emoji sequence), never inside one.
 * The whole path's length (Windows' 260 without long-path support) is not checked here.
 */

/** The per-name limit, in bytes / UTF-16 units (see above). */
export const NAME_MAX = 255;

/**
 * Room kept free in every name we build for what is appended to it while it is being written:
 * the writers' `.<name>.<pid>-<hex8>.part`, export's `.<name>.<hex8>.part`, the folder swap's
 * `.<name>.<pid>-<hex8>.staging` (at most 1 + 1 + 7 + 1 + 8 + 8 = 26 bytes).
 */
export const TEMP_AFFIX_MAX = 32;

/** The length of `name` against NAME_MAX: max(UTF-8 bytes, UTF-16 units of its NFD form). */
export function nameLength(name: string): number {
  return Math.max(Buffer.byteLength(name, 'utf8'), name.normalize('NFD').length);
}

const graphemes = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : null;

/** The longest prefix of `s` of whole graphemes (code points without ICU) whose nameLength ≤ max. */
export function cutToLength(s: string, max: number): string {
  if (nameLength(s) <= max) return s;
  const parts = graphemes ? Array.from(graphemes.segment(s), (g) => g.segment) : Array.from(s);
  let out = '';
  let used = 0;
  for (const g of parts) {
    const n = nameLength(g);
    if (used + n > max) break;
    out += g;
    used += n;
  }
  return out;
}

// Windows refuses these as names, with or without an extension.
const RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/**
 * A safe name made from `text`, leaving `reserve` (nameLength units) for a suffix the caller
 * appends (" - Vocals.wav", " (2)", …) on top of TEMP_AFFIX_MAX.
 */
export function safeFileName(text: string, reserve = 0): string {
  const trim = (s: string): string => s.replace(/^[.\s]+|[.\s]+$/g, '');
  // eslint-disable-next-line no-control-regex
  const cleaned = trim(text.normalize('NFC').replace(/[/\\:*?"<>|\u0000-\u001f\u007f]/g, '_'));
  const cut = trim(cutToLength(cleaned, Math.max(16, NAME_MAX - TEMP_AFFIX_MAX - reserve)));
  if (!cut) return 'Untitled';
  return RESERVED.test(cut) ? `_${cut}` : cut;
}

/** `safeFileName(text)` followed by `suffix` (e.g. " - Vocals.wav"), the whole within the limit. */
export function fileNameWithSuffix(text: string, suffix: string): string {
  return safeFileName(text, nameLength(suffix)) + suffix;
}

/** A safe version of a file name that keeps its extension ("Song.flac" → "<cut song>.flac"). */
export function safeFileNameKeepingExtension(name: string): string {
  const m = /(\.[A-Za-z0-9]{1,8})+$/.exec(name);
  const ext = m && m.index > 0 ? m[0] : '';
  return fileNameWithSuffix(ext ? name.slice(0, -ext.length) : name, ext);
}
