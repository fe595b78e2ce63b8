/**
 * DAW metadata inside the WAV files Stemdeck writes, so that a DAW knows a stem's tempo and key:
 * - `acid` (Sonic Foundry ACID; read by libsndfile, FL Studio, Ableton Live, Logic, ACID): 24 bytes,
 *   the field order of libsndfile's `wav_read_acid_chunk` (there is no published spec):
 *     u32 flags (0x01 one-shot, 0x02 root note set, 0x04 stretch, 0x08 disk-based) · u16 root note
 *     (MIDI, 60 = C4; 0 = none) · u16 unknown (0x8000 in the wild) · f32 unknown (0) · u32 beats ·
 *     u16 meter denominator · u16 meter numerator · f32 tempo (BPM)
 *   Written only when the tempo is known (a tempo of 0 would be read as one). Not a one-shot; the
 *   stretch flag says the tempo is valid; meter 4/4 (the estimator finds beats, not bars); the root
 *   note is the key's tonic in octave 4 (ACID has no mode: "A minor" and "A major" both say A).
 * - `bext` (EBU Tech 3285 Broadcast Wave, version 1): Description "Stemdeck: Vocals, 120 BPM,
 *   A minor, model spleeter-demucs-v1", Originator "Stemdeck", TimeReference 0 (every stem starts at
 *   the song's start, so a DAW places them time-aligned); 602 bytes, no coding history. Date and
 *   time are left empty so that the same stems give the same bytes.
 * Both sit before `data` (some readers stop there) in one block of fixed length, METADATA_BYTES,
 * whatever is known: a writer that learns the tempo only at the end of a stream (the separation
 * analyses the mixture while it runs) patches the block in place. Without a tempo the acid slot
 * is a JUNK chunk of the same size, which every reader skips.
 */
import fs from 'node:fs/promises';
import { PITCH_NAMES } from '../analysis/key.js';

/** What a DAW learns from one file; every field optional. */
export interface StemMetadata {
  /** What the file holds, for people: "Vocals", "Mix", "Instrumental". */
  label?: string;
  /** Beats per minute (> 0), or null when none is clear. */
  tempo?: number | null;
  /** e.g. "A minor", "Eb major" (analysis/key.ts names), or null when none is clear. */
  key?: string | null;
  /** The model that separated the song (its id). */
  model?: string;
}

const ACID_BYTES = 24;
const BEXT_BYTES = 602;
/** The metadata block: bext (8 + 602) and acid or its JUNK stand-in (8 + 24). */
export const METADATA_BYTES = 8 + BEXT_BYTES + 8 + ACID_BYTES;

const ACID_STRETCH = 0x04;
const ACID_ROOT_SET = 0x02;
const ACID_ONE_SHOT = 0x01;

/** "A minor" → its tonic's pitch class (0 = C … 11 = B) and mode; null for anything else. */
export function parseKeyName(name: string): { tonic: number; mode: 'major' | 'minor' } | null {
  const m = /^([A-G])([#b]?) (major|minor)$/.exec(name.trim());
  if (!m) return null;
  const natural = PITCH_NAMES.indexOf(m[1] as (typeof PITCH_NAMES)[number]);
  const tonic = (natural + (m[2] === '#' ? 1 : m[2] === 'b' ? 11 : 0)) % 12;
  return { tonic, mode: m[3] as 'major' | 'minor' };
}

/** "Stemdeck: Vocals, 120 BPM, A minor, model spleeter-demucs-v1" (the parts that are known). */
export function describeStem(meta: StemMetadata): string {
  const parts = [
    meta.label,
    meta.tempo ? `${formatBpm(meta.tempo)} BPM` : undefined,
    meta.key ?? undefined,
    meta.model ? `model ${meta.model}` : undefined,
  ].filter((p): p is string => !!p);
  return `Stemdeck${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** 120 → "120", 92.5 → "92.5" (the estimator gives tenths). */
export function formatBpm(bpm: number): string {
  return String(Math.round(bpm * 10) / 10);
}

/** Fixed-width ASCII (bext text fields are ASCII; anything else becomes '?'), NUL-padded. */
function writeAscii(buf: Buffer, text: string, at: number, width: number): void {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?').slice(0, width);
  buf.write(ascii, at, 'latin1');
}

function bextPayload(meta: StemMetadata): Buffer {
  const b = Buffer.alloc(BEXT_BYTES);
  writeAscii(b, describeStem(meta), 0, 256); // Description
  writeAscii(b, 'Stemdeck', 256, 32); // Originator
  // OriginatorReference (32), OriginationDate (10), OriginationTime (8): empty
  b.writeUInt32LE(0, 338); // TimeReferenceLow: the file starts at the song's start
  b.writeUInt32LE(0, 342); // TimeReferenceHigh
  b.writeUInt16LE(1, 346); // Version
  // UMID (64), loudness (5 × i16, version 2 only), Reserved (180): zero
  return b;
}

function acidPayload(meta: StemMetadata, frames: number, sampleRate: number): Buffer | null {
  if (!meta.tempo || !(meta.tempo > 0)) return null;
  const key = meta.key ? parseKeyName(meta.key) : null;
  const a = Buffer.alloc(ACID_BYTES);
  a.writeUInt32LE(ACID_STRETCH | (key ? ACID_ROOT_SET : 0), 0);
  a.writeUInt16LE(key ? 60 + key.tonic : 0, 4);
  a.writeUInt16LE(0x8000, 6);
  a.writeFloatLE(0, 8);
  a.writeUInt32LE(Math.max(0, Math.round(((frames / sampleRate) * meta.tempo) / 60)), 12);
  a.writeUInt16LE(4, 16); // meter denominator
  a.writeUInt16LE(4, 18); // meter numerator
  a.writeFloatLE(meta.tempo, 20);
  return a;
}

/**
 * The metadata block (METADATA_BYTES, whole chunks) for a file of `frames` frames at `sampleRate`:
 * `bext`, then `acid` when the tempo is known, else a JUNK chunk of acid's size.
 */
export function metadataChunks(meta: StemMetadata, frames: number, sampleRate: number): Buffer {
  const out = Buffer.alloc(METADATA_BYTES);
  out.write('bext', 0, 'ascii');
  out.writeUInt32LE(BEXT_BYTES, 4);
  bextPayload(meta).copy(out, 8);
  const at = 8 + BEXT_BYTES;
  const acid = acidPayload(meta, frames, sampleRate);
  out.write(acid ? 'acid' : 'JUNK', at, 'ascii');
  out.writeUInt32LE(ACID_BYTES, at + 4);
  if (acid) acid.copy(out, at + 8);
  return out;
}

// ─── reading (tests, and anyone who wants to see what a file says) ─────────────

export interface AcidInfo {
  flags: number;
  oneShot: boolean;
  rootNoteSet: boolean;
  /** MIDI note (60 = C4), 0 when not set. */
  rootNote: number;
  beats: number;
  meter: [numerator: number, denominator: number];
  tempo: number;
}

export interface BextInfo {
  description: string;
  originator: string;
  timeReference: bigint;
  version: number;
}

export interface WavChunkList {
  /** Chunk ids in file order, up to and including `data` and what follows it. */
  chunks: string[];
  acid: AcidInfo | null;
  bext: BextInfo | null;
}

function ascii(b: Buffer, at: number, width: number): string {
  const s = b.toString('latin1', at, at + width);
  const nul = s.indexOf('\0');
  return nul >= 0 ? s.slice(0, nul) : s;
}

export function parseAcid(p: Buffer): AcidInfo {
  const flags = p.readUInt32LE(0);
  return {
    flags,
    oneShot: (flags & ACID_ONE_SHOT) !== 0,
    rootNoteSet: (flags & ACID_ROOT_SET) !== 0,
    rootNote: p.readUInt16LE(4),
    beats: p.readUInt32LE(12),
    meter: [p.readUInt16LE(18), p.readUInt16LE(16)],
    tempo: p.readFloatLE(20),
  };
}

export function parseBext(p: Buffer): BextInfo {
  return {
    description: ascii(p, 0, 256),
    originator: ascii(p, 256, 32),
    timeReference: BigInt(p.readUInt32LE(338)) | (BigInt(p.readUInt32LE(342)) << 32n),
    version: p.readUInt16LE(346),
  };
}

/** Walks a WAV (RIFF or RF64) file's chunks and reads its acid and bext chunks. */
export async function readWavMetadata(file: string): Promise<WavChunkList> {
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    const riff = head.toString('ascii', 0, 4);
    if ((riff !== 'RIFF' && riff !== 'RF64') || head.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file} is not a WAV file`);
    const out: WavChunkList = { chunks: [], acid: null, bext: null };
    let ds64Data: number | null = null;
    const hdr = Buffer.alloc(8);
    for (let off = 12; off + 8 <= size; ) {
      await fh.read(hdr, 0, 8, off);
      const id = hdr.toString('latin1', 0, 4);
      let len = hdr.readUInt32LE(4);
      out.chunks.push(id);
      const payload = async (n: number): Promise<Buffer> => {
        const b = Buffer.alloc(n);
        await fh.read(b, 0, n, off + 8);
        return b;
      };
      if (id === 'ds64') ds64Data = Number((await payload(24)).readBigUInt64LE(8));
      else if (id === 'data' && len === 0xffffffff && ds64Data !== null) len = ds64Data;
      else if (id === 'acid' && len >= ACID_BYTES) out.acid = parseAcid(await payload(ACID_BYTES));
      else if (id === 'bext' && len >= BEXT_BYTES) out.bext = parseBext(await payload(BEXT_BYTES));
      off += 8 + len + (len % 2);
    }
    return out;
  } finally {
    await fh.close();
  }
}
