/**
 * Content hashes of input files (sha256 of the bytes: the library's dedupe key, library.ts
 * hashFile) that are known without reading the file again. The browser shell hashes an upload
 * while it streams to disk and hands the hash here; files.open then takes it instead of a second
 * read of the whole file, as long as the file is the one that was hashed: the same device, inode,
 * size, modification and change time (any write, truncate, rename or chmod since changes the
 * change time), else it is hashed again.
 */
import fs from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { hashFile } from '../library/library.js';

export interface ContentHash {
  /** sha256, lowercase hex. */
  hash: string;
  bytes: number;
}

/** A hash of bytes as they pass (an upload on its way to disk): the same digest as hashFile's. */
export class StreamingHash {
  private readonly h: Hash = createHash('sha256');
  bytes = 0;

  update(chunk: Buffer): void {
    this.h.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): ContentHash {
    return { hash: this.h.digest('hex'), bytes: this.bytes };
  }
}

/** Remembered entries at most (uploads of one session; the oldest is forgotten first). */
const MAX_ENTRIES = 512;

type Identity = string;

async function identityOf(file: string): Promise<{ id: Identity; size: bigint } | null> {
  const st = await fs.stat(file, { bigint: true }).catch(() => null);
  if (!st?.isFile()) return null;
  return { id: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, size: st.size };
}

export class KnownHashes {
  private readonly known = new Map<string, ContentHash & { id: Identity }>();

  /**
   * `file` (a real path) holds exactly the bytes that gave `hash`: call it once the file is
   * complete and in place (after its rename: a rename changes the change time).
   */
  async remember(file: string, hash: ContentHash): Promise<void> {
    const now = await identityOf(file);
    if (!now || now.size !== BigInt(hash.bytes)) return; // not what was hashed: it will be read again
    this.known.delete(file);
    this.known.set(file, { ...hash, id: now.id });
    if (this.known.size > MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
  }

  /** The file's content hash: the remembered one while the file is unchanged, else read from the file. */
  async hash(file: string): Promise<ContentHash> {
    const known = this.known.get(file);
    if (known) {
      const now = await identityOf(file);
      if (now?.id === known.id) return { hash: known.hash, bytes: known.bytes };
      this.known.delete(file);
    }
    return hashFile(file);
  }
}
