/**
 * File names from a pattern, the way DAW users name stems: "{song} - {stem}[ - {bpm} BPM][ - {key}]"
 * gives "Song - Vocals - 120 BPM - A min.wav". Tokens:
 *   {song}  the song's title (or input file name)      {stem}  "Vocals", "Drums", "Mix", …
 *   {bpm}   the tempo, e.g. "120" or "92.5"             {key}   the key, e.g. "A min", "Eb maj"
 *   {model} the model's id
 * Text in [square brackets] is left out when a token inside it is unknown (as in foobar2000's
 * patterns), so a song without a clear tempo gives "Song - Vocals - A min.wav", not "Song - Vocals
 * -  BPM - A min.wav". The result is made safe by file-names.ts (illegal characters, reserved names,
 * length: {song} is what gets cut when the name is too long).
 */
import { StemdeckError } from '../errors.js';
import { cutToLength, nameLength, NAME_MAX, safeFileName, TEMP_AFFIX_MAX } from './file-names.js';
import { formatBpm, parseKeyName } from './wav-metadata.js';
import { PITCH_NAMES } from '../analysis/key.js';
import { NAME_TOKENS, DAW_NAME_PATTERN, type NameToken } from '../../shared/name-patterns.js';

export { NAME_TOKENS, DAW_NAME_PATTERN, type NameToken };
export const NAME_PATTERN_MAX = 200;

export interface NameFields {
  song: string;
  /** The stem's name ("vocals") or a mixdown's label ("Mix"); shown as stemLabel() says. */
  stem: string;
  tempo?: number | null;
  /** e.g. "A minor" (analysis/key.ts names). */
  key?: string | null;
  model?: string;
}

/** "vocals" → "Vocals". */
export function stemLabel(stem: string): string {
  return stem ? `${stem[0].toUpperCase()}${stem.slice(1)}` : stem;
}

/** "A minor" → "A min", "Eb major" → "Eb maj". */
export function shortKeyName(key: string): string {
  const k = parseKeyName(key);
  return k ? `${PITCH_NAMES[k.tonic]} ${k.mode === 'minor' ? 'min' : 'maj'}` : key;
}

type Part = { text: string } | { token: NameToken } | { group: Part[] };

export interface NamePattern {
  readonly source: string;
  readonly parts: readonly Part[];
}

function invalid(pattern: string, why: string): StemdeckError {
  return new StemdeckError(
    'invalid-request',
    `The name pattern "${pattern}" ${why}. Use the tokens ${NAME_TOKENS.map((t) => `{${t}}`).join(' ')} with any text, and [ ] around text to leave out when a token in it is unknown, e.g. "${DAW_NAME_PATTERN}".`,
  );
}

/** Parses and checks a pattern (it must name {stem}, or every stem would get the same name). */
export function parseNamePattern(pattern: string): NamePattern {
  if (pattern.length > NAME_PATTERN_MAX) throw invalid(pattern.slice(0, 40) + '…', `is longer than ${NAME_PATTERN_MAX} characters`);
  const top: Part[] = [];
  let group: Part[] | null = null;
  let text = '';
  const flush = (): void => {
    if (text) (group ?? top).push({ text });
    text = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') {
      const end = pattern.indexOf('}', i);
      const name = end < 0 ? '' : pattern.slice(i + 1, end);
      if (!(NAME_TOKENS as readonly string[]).includes(name)) throw invalid(pattern, end < 0 ? 'has a "{" without "}"' : `has an unknown token {${name}}`);
      flush();
      (group ?? top).push({ token: name as NameToken });
      i = end;
    } else if (c === '[') {
      if (group) throw invalid(pattern, 'has "[" inside [ ]');
      flush();
      group = [];
    } else if (c === ']') {
      if (!group) throw invalid(pattern, 'has "]" without "["');
      flush();
      top.push({ group });
      group = null;
    } else if (c === '}') throw invalid(pattern, 'has a "}" without "{"');
    else text += c;
  }
  if (group) throw invalid(pattern, 'has "[" without "]"');
  flush();
  const hasStem = (parts: readonly Part[]): boolean => parts.some((p) => ('token' in p && p.token === 'stem') || ('group' in p && hasStem(p.group)));
  if (!top.some((p) => 'token' in p && p.token === 'stem')) throw invalid(pattern, hasStem(top) ? 'has {stem} only inside [ ]' : 'has no {stem}');
  return { source: pattern, parts: top };
}

function tokenValue(token: NameToken, f: NameFields): string | null {
  switch (token) {
    case 'song':
      return f.song;
    case 'stem':
      return stemLabel(f.stem);
    case 'bpm':
      return f.tempo && f.tempo > 0 ? formatBpm(f.tempo) : null;
    case 'key':
      return f.key ? shortKeyName(f.key) : null;
    case 'model':
      return f.model ?? null;
  }
}

function render(parts: readonly Part[], f: NameFields): string | null {
  let out = '';
  for (const p of parts) {
    if ('text' in p) out += p.text;
    else if ('token' in p) {
      const v = tokenValue(p.token, f);
      if (v === null) return null;
      out += v;
    } else out += render(p.group, f) ?? '';
  }
  return out;
}

/**
 * The file name of `fields` under `pattern`, ending in `ext` (with its dot), safe on every file
 * system; when too long, the song's title is cut.
 */
export function patternFileName(pattern: NamePattern, fields: NameFields, ext: string): string {
  const budget = NAME_MAX - TEMP_AFFIX_MAX - nameLength(ext);
  const full = render(pattern.parts, fields) ?? '';
  let name = full;
  if (nameLength(full) > budget) {
    const withoutSong = nameLength(render(pattern.parts, { ...fields, song: '' }) ?? '');
    name = render(pattern.parts, { ...fields, song: cutToLength(fields.song, Math.max(8, budget - withoutSong)) }) ?? '';
  }
  return safeFileName(name, nameLength(ext)) + ext;
}
