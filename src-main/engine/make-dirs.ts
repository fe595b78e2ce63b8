/**
 * `mkdir -p` that fails with the real reason, and always ends. Node's recursive mkdir reports
 * ENOENT for a folder on a read-only mount (instead of EROFS) and, in Node 20, never settles for a
 * path under /proc; so this walks up to the first folder that exists and creates each missing one
 * in turn, non-recursively.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';

export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; ) {
    const st = await fsp.stat(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const d of missing.reverse()) {
    await fsp.mkdir(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e; // made meanwhile by someone else: fine
    });
  }
}
