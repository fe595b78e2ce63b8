/**
 * "Download all stems" of the browser shell: a page can drag at most one file out of the browser,
 * so a song's stems (the drag-out files of `dragout.prepareAll`: named, with tempo/key metadata)
 * go out as one zip, streamed as it is made (fflate: stored entries, since audio hardly
 * compresses and storing costs no CPU; memory stays one read chunk). A zip without ZIP64 (fflate
 * writes none) holds at most 4 GiB, so bigger sets are refused before anything is sent.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { once } from 'node:events';
import type http from 'node:http';
import { Zip, ZipPassThrough } from 'fflate';
import { StemdeckError } from '../../engine/errors.js';

/** What a zip without ZIP64 can hold (sizes and offsets are u32), with room for its headers. */
const ZIP_MAX_BYTES = 0xffffffff - 64 * 1024 * 1024;

export interface ZipEntryFile {
  path: string;
  /** The entry's name in the zip. */
  name: string;
}

/** `attachment` with an ASCII fallback name and the real one (RFC 6266 / 5987). */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Streams `files` to `res` as the zip `zipName`; stops reading when the client goes away. */
export async function sendZip(res: http.ServerResponse, files: ZipEntryFile[], zipName: string): Promise<void> {
  const sizes = await Promise.all(files.map((f) => fsp.stat(f.path).then((s) => s.size)));
  if (sizes.reduce((a, b) => a + b, 0) > ZIP_MAX_BYTES)
    throw new StemdeckError('invalid-request', 'These stems are over 4 GiB together, more than a zip can hold here. Drag them one by one or export them instead.');
  res.writeHead(200, { 'content-type': 'application/zip', 'content-disposition': attachment(zipName), 'cache-control': 'no-store' });
  let gone = false;
  res.once('close', () => (gone = true));
  let zipError: Error | null = null;
  const zip = new Zip((err, chunk, final) => {
    if (err) zipError = err;
    else if (!gone) {
      res.write(chunk);
      if (final) res.end();
    }
  });
  for (const [i, f] of files.entries()) {
    const entry = new ZipPassThrough(f.name);
    entry.mtime = (await fsp.stat(f.path)).mtime;
    zip.add(entry);
    let read = 0;
    for await (const chunk of fs.createReadStream(f.path, { highWaterMark: 1 << 20 })) {
      if (gone) return;
      entry.push(chunk as Buffer);
      read += (chunk as Buffer).length;
      if (res.writableNeedDrain) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    // a file that changed while it was read would give a zip whose entry lies about its size
    if (read !== sizes[i]) throw new StemdeckError('internal', `"${f.name}" changed while it was zipped. Download again.`);
    entry.push(new Uint8Array(0), true);
  }
  zip.end();
  if (zipError) throw zipError;
}
