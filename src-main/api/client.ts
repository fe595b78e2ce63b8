/**
 * Renderer-side clients implementing `StemdeckApi` over either transport. Pure DOM + zod:
 * imported by the renderer (never by Node code). See contract.ts for the wire formats.
 */
import {
  ApiCallError,
  ErrorCodeSchema,
  type DragOutFile,
  type EventName,
  type EventPayload,
  type MediaRef,
  type MethodName,
  type Params,
  type Result,
  type StemdeckApi,
} from './contract.js';

type Listener = (payload: unknown) => void;

function makeError(e: unknown): ApiCallError {
  const any = e as { code?: unknown; message?: unknown } | null;
  const code = ErrorCodeSchema.safeParse(any?.code);
  return new ApiCallError(code.success ? code.data : 'internal', typeof any?.message === 'string' ? any.message : String(e));
}

function encodeRef(ref: MediaRef): string {
  return `${ref.root}/${ref.path.split('/').map(encodeURIComponent).join('/')}`;
}

/** Reads the session token from `#token=…` (kept in sessionStorage so reloads work). */
export function browserToken(): string {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('stemdeck-token', m[1]);
    return m[1];
  }
  return sessionStorage.getItem('stemdeck-token') ?? '';
}

/** Browser shell: HTTP POST for calls, one WebSocket for events (reconnects). */
export function createBrowserClient(options: { base?: string; token?: string } = {}): StemdeckApi {
  const base = options.base ?? location.origin;
  const token = options.token ?? browserToken();
  const listeners = new Map<string, Set<Listener>>();
  let socket: WebSocket | null = null;
  let retryMs = 250;

  function connect(): void {
    const url = new URL(`/events?token=${encodeURIComponent(token)}`, base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    socket = ws;
    ws.onmessage = (m) => {
      try {
        const msg = JSON.parse(String(m.data)) as { event: string; payload: unknown };
        for (const l of listeners.get(msg.event) ?? []) l(msg.payload);
      } catch {
        /* ignore malformed */
      }
    };
    ws.onopen = () => {
      retryMs = 250;
    };
    ws.onclose = () => {
      socket = null;
      setTimeout(connect, retryMs);
      retryMs = Math.min(5000, retryMs * 2);
    };
  }

  const mediaUrl = (ref: MediaRef): string => new URL(`/media/${encodeRef(ref)}?token=${encodeURIComponent(token)}`, base).href;
  const zipUrl = (songId: string): string => new URL(`/zip/${encodeURIComponent(songId)}?token=${encodeURIComponent(token)}`, base).href;
  return {
    shell: 'browser',
    async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
      let res: Response;
      try {
        res = await fetch(new URL(`/api/${method}`, base), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-stemdeck-token': token },
          body: JSON.stringify(params ?? {}),
        });
      } catch (e) {
        throw new ApiCallError('internal', `Cannot reach the Stemdeck backend (${String(e)}). Is it still running?`);
      }
      const body = (await res.json().catch(() => null)) as { ok: boolean; result?: unknown; error?: unknown } | null;
      if (!body) throw new ApiCallError('internal', `The backend answered HTTP ${res.status} without a body.`);
      if (!body.ok) throw makeError(body.error);
      return body.result as Result<M>;
    },
    on<E extends EventName>(event: E, handler: (payload: EventPayload<E>) => void): () => void {
      if (!socket) connect();
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(handler as Listener);
      return () => set.delete(handler as Listener);
    },
    mediaUrl,
    async importFiles(files: File[], onProgress?: (fraction: number) => void): Promise<string[]> {
      const total = files.reduce((n, f) => n + f.size, 0) || 1;
      let done = 0;
      const paths: string[] = [];
      for (const file of files) {
        const res = await fetch(new URL(`/upload?name=${encodeURIComponent(file.name)}`, base), {
          method: 'POST',
          headers: { 'x-stemdeck-token': token, 'content-type': 'application/octet-stream' },
          body: file,
        });
        const body = (await res.json().catch(() => null)) as { ok: boolean; result?: { path: string }; error?: unknown } | null;
        if (!body?.ok || !body.result) throw makeError(body?.error ?? { code: 'internal', message: `Upload failed (HTTP ${res.status}).` });
        paths.push(body.result.path);
        done += file.size;
        onProgress?.(done / total);
      }
      return paths;
    },
    startDrag(file: DragOutFile, event: DragEvent): void {
      const dt = event.dataTransfer;
      if (!dt) return;
      const url = mediaUrl(file.ref);
      dt.effectAllowed = 'copy';
      dt.setData('DownloadURL', `${file.mime}:${file.fileName}:${url}`);
      dt.setData('text/uri-list', url);
      dt.setData('text/plain', url);
    },
    startDragFiles(songId: string, _files: DragOutFile[], event: DragEvent): void {
      // a page can drag out one file (DownloadURL): the stems' zip
      const dt = event.dataTransfer;
      if (!dt) return;
      const url = zipUrl(songId);
      dt.effectAllowed = 'copy';
      dt.setData('DownloadURL', `application/zip:stems.zip:${url}`);
      dt.setData('text/uri-list', url);
      dt.setData('text/plain', url);
    },
    stemsZipUrl: (songId: string) => zipUrl(songId),
  };
}

/** The raw bridge the Electron preload exposes as `window.stemdeck`. */
export interface ElectronBridge {
  kind: 'electron';
  invoke(method: string, params: unknown): Promise<{ ok: boolean; result?: unknown; error?: unknown }>;
  on(event: string, cb: (payload: unknown) => void): () => void;
  startDrag(path: string): void;
  /** Several files in one native drag (payload: StartDragFilesSchema). */
  startDragFiles(paths: string[]): void;
  pathForFile(file: File): string;
}

export function createElectronClient(bridge: ElectronBridge): StemdeckApi {
  return {
    shell: 'electron',
    async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
      const res = await bridge.invoke(method, params ?? {});
      if (!res.ok) throw makeError(res.error);
      return res.result as Result<M>;
    },
    on<E extends EventName>(event: E, handler: (payload: EventPayload<E>) => void): () => void {
      return bridge.on(event, handler as Listener);
    },
    mediaUrl(ref: MediaRef): string {
      return `stems://${encodeRef(ref)}`;
    },
    async importFiles(files: File[], onProgress?: (fraction: number) => void): Promise<string[]> {
      const paths = files.map((f) => bridge.pathForFile(f)).filter((p) => p.length > 0);
      onProgress?.(1);
      return paths;
    },
    startDrag(file: DragOutFile, event: DragEvent): void {
      event.preventDefault();
      bridge.startDrag(file.path);
    },
    startDragFiles(_songId: string, files: DragOutFile[], event: DragEvent): void {
      event.preventDefault();
      bridge.startDragFiles(files.map((f) => f.path));
    },
    stemsZipUrl: () => null,
  };
}

/** Picks the right client for where the renderer runs. */
export function createClient(): StemdeckApi {
  const bridge = (globalThis as { stemdeck?: ElectronBridge }).stemdeck;
  return bridge?.kind === 'electron' ? createElectronClient(bridge) : createBrowserClient();
}
