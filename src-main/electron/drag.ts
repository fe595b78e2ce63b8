/**
 * Native drag-out of several files at once (a song's stems, prepared by `dragout.prepareAll`):
 * the handler of the `stemdeck:start-drag-files` IPC message. Kept free of Electron's runtime
 * (the icon and the sender are given) so that it is tested without a window.
 *
 * The payload is checked against the contract's schema, and every path must be a regular file
 * inside the library or the drag-out folder (through the PathGuard, symbolic links resolved):
 * one bad path refuses the whole drag, so a page can never make the app drag out other files.
 */
import fs from 'node:fs';
import { StartDragFilesSchema, type MediaRef } from '../api/contract.js';

/** The part of Electron's WebContents this needs (`startDrag`; `files` overrides `file`). */
export interface DragSender {
  startDrag(item: { file: string; files?: string[]; icon: unknown }): void;
}

/** The part of the PathGuard this needs. */
export interface DragGuard {
  refFor(file: string): MediaRef | null;
  resolveMedia(ref: MediaRef): string;
}

/** Roots a drag may take files from. */
const DRAG_ROOTS: ReadonlySet<MediaRef['root']> = new Set(['library', 'dragout']);

/**
 * Starts the native drag of the payload's files from `sender`; returns the real paths dragged, or
 * null when the payload is refused (nothing is dragged).
 */
export function startDragFiles(sender: DragSender, payload: unknown, guard: DragGuard, icon: unknown): string[] | null {
  const parsed = StartDragFilesSchema.safeParse(payload);
  if (!parsed.success) return null;
  const real: string[] = [];
  for (const file of parsed.data.files) {
    const ref = guard.refFor(file);
    if (!ref || !DRAG_ROOTS.has(ref.root)) return null;
    let resolved: string;
    try {
      resolved = guard.resolveMedia(ref);
    } catch {
      return null;
    }
    if (!fs.statSync(resolved, { throwIfNoEntry: false })?.isFile()) return null;
    real.push(resolved);
  }
  sender.startDrag({ file: real[0], files: real, icon });
  return real;
}
