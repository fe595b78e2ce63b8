/**
 * Drag-out of the open song's lanes and mixdown: a real file is prepared (dragout.prepare) when
 * the pointer or focus reaches a drag handle, so that the drag itself can start synchronously
 * inside `dragstart`; Enter/Space on a handle saves the file instead (a download).
 */
import type { DragOutFile, MixStateT } from '$api/contract.js';
import { app, errorText } from './app.svelte.js';

export class DragOutFiles {
  private readonly prepared = new Map<string, Promise<DragOutFile>>();
  private readonly ready = new Map<string, DragOutFile>();

  /** `songId()` and `mix()` read the session's current song and mixer state (the mixdown's key). */
  constructor(
    private readonly songId: () => string | null,
    private readonly mix: () => MixStateT,
  ) {}

  private key(target: string): string {
    return target === 'mixdown' ? `mixdown:${JSON.stringify(this.mix())}` : target;
  }

  /** Starts preparing the file of a lane (`target` = stem name) or of 'mixdown'. */
  prepare(target: string): void {
    const songId = this.songId();
    if (!songId) return;
    const key = this.key(target);
    if (this.prepared.has(key)) return;
    const p = app.api!.call('dragout.prepare', {
      songId,
      target,
      format: app.settings.dragFormat,
      ...(target === 'mixdown' ? { mixer: this.mix() } : {}),
    });
    this.prepared.set(key, p);
    p.then((f) => this.ready.set(key, f)).catch((e) => {
      this.prepared.delete(key);
      app.notify('mixer', `Could not prepare the ${target} file for dragging: ${errorText(e)}`);
    });
  }

  /** Keyboard alternative to dragging out: Enter or Space saves the file (a download). */
  async saveByKey(e: KeyboardEvent, target: string): Promise<void> {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    e.stopPropagation();
    this.prepare(target);
    const f = await this.prepared.get(this.key(target))?.catch(() => null);
    if (!f) return;
    const a = document.createElement('a');
    a.href = app.api!.mediaUrl(f.ref);
    a.download = f.fileName;
    document.body.append(a);
    a.click();
    a.remove();
  }

  /** `dragstart` of a handle: drags the prepared file, or asks to drag again once it is ready. */
  start(e: DragEvent, target: string): void {
    if (!this.songId()) {
      e.preventDefault();
      app.notify('mixer', 'The stems can be dragged out once the song is separated.', 'info');
      return;
    }
    const f = this.ready.get(this.key(target));
    if (!f) {
      e.preventDefault();
      this.prepare(target);
      app.notify('mixer', `Preparing the ${target} file… drag again in a moment.`, 'info');
      return;
    }
    app.api!.startDrag(f, e);
  }
}
