/**
 * File access rules of the app API (both shells): the renderer may only reach files inside
 * the allowed roots (library, exports, drag-out cache, upload folder) and files/folders the
 * user chose (dialog, drop, upload, typed path). Every path is resolved with realpath, so
 * `..`, symlinks pointing out and absolute paths elsewhere are refused ('path-forbidden').
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MediaRef } from '../api/contract.js';
import { StemdeckError } from '../engine/errors.js';

function forbidden(what: string): StemdeckError {
  return new StemdeckError('path-forbidden', `Stemdeck may not access ${what}. Choose the file with Open (or drop it on the window).`);
}

function realpathOrNull(p: string): string | null {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return null;
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export class PathGuard {
  private readonly roots = new Map<MediaRef['root'] | 'imports', string>();
  /** Real paths of files and folders the user chose. */
  private readonly chosenFiles = new Set<string>();
  private readonly chosenDirs = new Set<string>();

  setRoot(name: MediaRef['root'] | 'imports', dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    this.roots.set(name, fs.realpathSync.native(dir));
  }

  root(name: MediaRef['root'] | 'imports'): string {
    const r = this.roots.get(name);
    if (!r) throw new StemdeckError('internal', `root ${name} is not configured`);
    return r;
  }

  /** Records a user's choice (dialog result, drop, upload, typed path). */
  choose(p: string): string {
    const real = realpathOrNull(path.resolve(p));
    if (!real) throw new StemdeckError('input-missing', `${p} does not exist. Check the path.`);
    const st = fs.statSync(real);
    if (st.isDirectory()) this.chosenDirs.add(real);
    else this.chosenFiles.add(real);
    return real;
  }

  /** A file the app may read as an input (chosen by the user, or inside an allowed root). Returns its real path. */
  checkInput(p: string): string {
    if (typeof p !== 'string' || !p || p.includes('\0')) throw forbidden('this path');
    if (!path.isAbsolute(p)) throw forbidden(`the relative path "${p}"`);
    const real = realpathOrNull(p);
    if (!real) {
      // Refuse paths outside the allowed set before saying whether they exist.
      const lexical = path.resolve(p);
      if (!this.allowedReal(lexical)) throw forbidden(`"${p}"`);
      throw new StemdeckError('input-missing', `${p} does not exist any more. Choose the file again.`);
    }
    if (!this.allowedReal(real)) throw forbidden(`"${p}"`);
    return real;
  }

  /** A folder the user chose as an export target. */
  checkOutputDir(p: string): string {
    const real = realpathOrNull(path.resolve(p));
    if (!real || !path.isAbsolute(p)) throw forbidden(`"${p}"`);
    const ok = [...this.chosenDirs].some((d) => isInside(real, d)) || isInside(real, this.root('exports'));
    if (!ok) throw forbidden(`the folder "${p}"`);
    return real;
  }

  private allowedReal(real: string): boolean {
    if (this.chosenFiles.has(real)) return true;
    if ([...this.chosenDirs].some((d) => isInside(real, d))) return true;
    for (const r of this.roots.values()) if (isInside(real, r)) return true;
    return false;
  }

  /** Resolves a media reference (or a raw URL path "<root>/<rel>") to a real file inside its root. */
  resolveMedia(ref: MediaRef | string): string {
    let rootName: string;
    let rel: string;
    if (typeof ref === 'string') {
      const i = ref.indexOf('/');
      if (i <= 0) throw forbidden('this path');
      rootName = ref.slice(0, i);
      rel = ref.slice(i + 1);
    } else {
      rootName = ref.root;
      rel = ref.path;
    }
    if (rootName !== 'library' && rootName !== 'exports' && rootName !== 'dragout' && rootName !== 'live') throw forbidden('this path');
    if (!rel || rel.includes('\0') || rel.includes('\\') || rel.startsWith('/') || path.isAbsolute(rel)) throw forbidden(`"${rel}"`);
    const parts = rel.split('/');
    if (parts.some((s) => s === '..' || s === '.' || s === '')) throw forbidden(`"${rel}"`);
    if (parts.some((s) => s.startsWith('.tmp-') || s.startsWith('.trash-'))) throw forbidden(`"${rel}"`);
    const root = this.root(rootName);
    const lexical = path.join(root, ...parts);
    if (!isInside(lexical, root)) throw forbidden(`"${rel}"`);
    const real = realpathOrNull(lexical);
    if (!real) throw new StemdeckError('input-missing', 'This file does not exist (any more).');
    if (!isInside(real, root)) throw forbidden(`"${rel}" (it links outside the library)`);
    return real;
  }

  /** The media reference of a file inside one of the roots, or null. */
  refFor(file: string): MediaRef | null {
    const real = realpathOrNull(file) ?? path.resolve(file);
    for (const name of ['library', 'exports', 'dragout', 'live'] as const) {
      const root = this.roots.get(name);
      if (root && isInside(real, root) && real !== root) return { root: name, path: path.relative(root, real).split(path.sep).join('/') };
    }
    return null;
  }
}
