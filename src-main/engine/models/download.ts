/**
 * Downloader for catalogue models: HTTPS only, progress with speed and ETA, pause/resume
 * over HTTP Range, sha256 (and UVR hash) verified before install, atomic install, free-space
 * check first, clear errors offline.
 *
 * Layout in the user models folder (userModelsDir(), STEMDECK_MODELS):
 *   <models>/<id>/manifest.json + <file>.onnx      an installed model (what the registry reads)
 *   <models>/.downloads/<id>/<file>.part           a partial download (kept on pause / cut connection)
 *   <models>/.downloads/<id>.lock                  pid of the process downloading <id> (one at a time)
 *   <models>/.staging-<id>-<random>/               a model being installed (renamed into place)
 * Folders starting with "." are never models.
 *
 * Install order: terms accepted → free space checked → bytes fetched into .part (resumed with
 * `Range: bytes=<have>-` when a .part exists) → size + sha256 (+ UVR md5-of-tail) verified →
 * the file is moved into a staging folder with its manifest → the staging folder is renamed to
 * <models>/<id>. A failure at any step leaves no <models>/<id> behind; only a checksum failure
 * or a cancel deletes the .part, every other failure keeps it so the next attempt resumes.
 *
 * Cancel vs pause: abort `signal` with reason 'pause' (or call `pause()` on a ModelDownload) to
 * stop and keep the partial file; any other abort cancels and deletes it. Both reject with
 * StemdeckError('cancelled').
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { StemdeckError, isStemdeckError } from '../errors.js';
import { userModelsDir } from '../paths.js';
import { type CatalogueEntry, type Contract, manifestForEntry } from './catalogue.js';
import { isCascade, type ModelManifest, type OnnxModelManifest } from '../manifest.js';
import { processAlive } from '../output/temp-tokens.js';

export type DownloadStage = 'checking' | 'downloading' | 'verifying' | 'installing' | 'done';

export interface DownloadProgress {
  id: string;
  stage: DownloadStage;
  receivedBytes: number;
  totalBytes: number;
  /** 0..1 of the bytes. */
  fraction: number;
  /** Smoothed over the last seconds; 0 before the first measurement. */
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** True when this attempt continued an earlier partial download. */
  resumed: boolean;
}

export interface InstallOptions {
  /** The entry's `terms` must have been shown and accepted. */
  acceptTerms: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Default userModelsDir(). */
  modelsDir?: string;
  /** Tests only: allow plain http to 127.0.0.1 / ::1 / localhost. Never set by the app. */
  allowLoopbackHttp?: boolean;
  /** Free bytes available in a folder; default fs.statfs. Injected by tests to simulate a full disk. */
  freeSpace?: (dir: string) => Promise<number>;
  /** Automatic resumes after a cut connection before giving up (default 3). */
  retries?: number;
  /** Socket inactivity timeout (default 30 s). */
  timeoutMs?: number;
  /** Replace an installed model with the same id (default: refuse). */
  replace?: boolean;
}

export interface InstallResult {
  id: string;
  dir: string;
  manifest: OnnxModelManifest;
  bytes: number;
  seconds: number;
  resumed: boolean;
}

const MARGIN_BYTES = 16 * 1024 * 1024;
const UVR_TAIL_BYTES = 10000 * 1024;

export function partialPath(modelsDir: string, entry: Pick<CatalogueEntry, 'id' | 'file'>): string {
  return path.join(modelsDir, '.downloads', entry.id, `${entry.file}.part`);
}

export async function defaultFreeSpace(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** md5 of the last 10,000 KiB (the whole file when smaller), as UVR's get_model_hash. */
export async function uvrModelHash(file: string): Promise<string> {
  const { size } = await fs.stat(file);
  const start = size > UVR_TAIL_BYTES ? size - UVR_TAIL_BYTES : 0;
  return hashFile(file, 'md5', start);
}

export async function sha256File(file: string): Promise<string> {
  return hashFile(file, 'sha256', 0);
}

async function hashFile(file: string, algo: 'md5' | 'sha256', start: number): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of createReadStream(file, { start, highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === '[::1]' || host === '::1' || host === 'localhost';
}

function checkUrl(url: URL, allowLoopbackHttp: boolean): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && allowLoopbackHttp && isLoopbackHost(url.hostname)) return;
  throw new StemdeckError('network', `Refusing to download over ${url.protocol.replace(':', '')} from ${url.host}: models are only downloaded over HTTPS.`);
}

function networkError(url: URL, e: unknown): StemdeckError {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  const offline = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN'].includes(code);
  const what = offline
    ? `Cannot reach ${url.host} (${code}): you seem to be offline or behind a proxy/firewall.`
    : `The download from ${url.host} failed (${code || (e as Error)?.message || 'connection lost'}).`;
  return new StemdeckError(
    'network',
    `${what} Check your internet connection, then press Retry (on the command line: run the same install command again); the download resumes where it stopped.`,
    { cause: e },
  );
}

function abortReason(signal: AbortSignal | undefined): 'pause' | 'cancel' {
  return signal?.reason === 'pause' ? 'pause' : 'cancel';
}

interface FetchState {
  received: number;
  resumed: boolean;
}

/**
 * One HTTP(S) GET of the remaining bytes into `part`, following up to 5 redirects (each one
 * must itself be https). Resolves when the body ended; rejects on HTTP errors, network errors
 * and aborts. `state.received` counts the bytes on disk.
 */
function fetchInto(
  url: URL,
  part: string,
  state: FetchState,
  total: number,
  opts: InstallOptions,
  onBytes: () => void,
  redirects = 0,
): Promise<void> {
  checkUrl(url, opts.allowLoopbackHttp === true);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'Stemdeck model manager', accept: '*/*' };
    if (state.received > 0) headers.range = `bytes=${state.received}-`;
    const mod = url.protocol === 'https:' ? https : http;
    let settled = false;
    let out: WriteStream | null = null;
    // Settles only after the write stream is closed, so a retry never appends while old bytes flush.
    const finish = (e: unknown | null): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (e) req.destroy();
      const done = (): void => (e ? reject(e) : resolve());
      if (!out || out.closed) return done();
      out.once('close', done);
      if (!out.writableEnded) out.end();
    };
    const fail = (e: unknown): void => finish(e);
    const onAbort = (): void => fail(new StemdeckError('cancelled', 'aborted'));
    const cut = (): StemdeckError => networkError(url, Object.assign(new Error('connection cut'), { code: 'ECONNRESET' }));
    const req = mod.get(url, { headers, timeout: opts.timeoutMs ?? 30000 }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return fail(new StemdeckError('network', `Too many redirects from ${url.host}; try again later.`));
        let next: URL;
        try {
          next = new URL(res.headers.location, url);
          checkUrl(next, opts.allowLoopbackHttp === true);
        } catch (e) {
          return fail(isStemdeckError(e) ? e : networkError(url, e));
        }
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        fetchInto(next, part, state, total, opts, onBytes, redirects + 1).then(resolve, reject);
        return;
      }
      if (status === 416 && state.received === total) {
        res.resume();
        return finish(null);
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        return fail(
          new StemdeckError(
            'network',
            `The server ${url.host} answered HTTP ${status} for ${url.pathname.split('/').pop() ?? ''}. ` +
              (status >= 500 ? 'It may be down; try again later.' : 'The file may have moved; update Stemdeck or import the file by hand.'),
          ),
        );
      }
      const append = status === 206 && state.received > 0;
      if (!append) state.received = 0; // the server ignored the Range: start over
      if (append) state.resumed = true;
      const len = Number(res.headers['content-length'] ?? NaN);
      if (Number.isFinite(len) && state.received + len !== total) {
        res.resume();
        return fail(
          new StemdeckError('checksum', `The server offers ${state.received + len} bytes, but this model has ${total}; the download was refused.`),
        );
      }
      const stream = createWriteStream(part, { flags: append ? 'a' : 'w' });
      out = stream;
      stream.on('error', (e: NodeJS.ErrnoException) => {
        fail(
          e.code === 'ENOSPC'
            ? new StemdeckError('disk-full', `The disk is full while downloading into ${path.dirname(part)}; free some space and try again.`, { cause: e })
            : new StemdeckError('output-unwritable', `Cannot write ${part}: ${e.message}`, { cause: e }),
        );
      });
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (state.received + chunk.length > total) {
          fail(new StemdeckError('checksum', `The server sent more than the expected ${total} bytes; the download was refused.`));
          return;
        }
        state.received += chunk.length;
        if (!stream.write(chunk)) {
          res.pause();
          stream.once('drain', () => res.resume());
        }
        onBytes();
      });
      res.on('error', (e) => fail(networkError(url, e)));
      res.on('aborted', () => fail(cut()));
      res.on('end', () => (res.complete ? finish(null) : fail(cut())));
      res.on('close', () => {
        if (!res.complete) fail(cut());
      });
    });
    req.on('timeout', () => fail(networkError(url, Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))));
    req.on('error', (e) => fail(networkError(url, e)));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Speed over a sliding window of ~3 s; ETA from it. */
class Meter {
  private samples: Array<{ t: number; bytes: number }> = [];
  private last = 0;
  constructor(
    private readonly emit: (bytesPerSecond: number, etaSeconds: number | null, force: boolean) => void,
    private readonly total: () => number,
  ) {}
  tick(received: number, force = false): void {
    const t = performance.now();
    this.samples.push({ t, bytes: received });
    while (this.samples.length > 2 && t - this.samples[0].t > 3000) this.samples.shift();
    if (!force && t - this.last < 200) return;
    this.last = t;
    const first = this.samples[0];
    const dt = (t - first.t) / 1000;
    const speed = dt > 0.05 ? Math.max(0, (received - first.bytes) / dt) : 0;
    const eta = speed > 0 ? (this.total() - received) / speed : null;
    this.emit(speed, eta, force);
  }
}

/** Verifies a downloaded file against the entry; throws StemdeckError('checksum'). */
export async function verifyFile(file: string, entry: Pick<CatalogueEntry, 'sha256' | 'bytes' | 'uvrHash' | 'name'>): Promise<void> {
  const { size } = await fs.stat(file);
  if (size !== entry.bytes)
    throw new StemdeckError('checksum', `${entry.name}: downloaded ${size} bytes, expected ${entry.bytes}. Nothing was installed; try again.`);
  const sha = await sha256File(file);
  if (sha !== entry.sha256)
    throw new StemdeckError(
      'checksum',
      `${entry.name}: the file's sha256 is ${sha}, expected ${entry.sha256}. The download was corrupted or the file was changed upstream; nothing was installed.`,
    );
  if (entry.uvrHash) {
    const uvr = await uvrModelHash(file);
    if (uvr !== entry.uvrHash)
      throw new StemdeckError('checksum', `${entry.name}: UVR model hash ${uvr}, expected ${entry.uvrHash}; nothing was installed.`);
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** The refusal of an install whose id is taken (the same words for downloads, imports and cascades). */
export function alreadyInstalled(id: string): StemdeckError {
  return new StemdeckError('invalid-request', `A model "${id}" is already installed; remove it first (stemdeck models remove ${id}).`);
}

/**
 * Moves a verified file and its manifest into <modelsDir>/<id> atomically (staging folder +
 * rename). `moveFile` false copies instead (imports keep the user's file). A manifest without
 * files (a cascade: `source` null) is installed the same way, alone in its folder.
 */
export async function installFiles(
  modelsDir: string,
  manifest: ModelManifest,
  source: string | null,
  opts: { moveFile: boolean; replace?: boolean },
): Promise<string> {
  const target = path.join(modelsDir, manifest.id);
  if ((await exists(target)) && !opts.replace) throw alreadyInstalled(manifest.id);
  const staging = path.join(modelsDir, `.staging-${manifest.id}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(staging, { recursive: true });
  try {
    const files = isCascade(manifest) ? [] : manifest.files;
    if (source !== null && files.length) {
      const dest = path.join(staging, files[0].path);
      if (opts.moveFile) await fs.rename(source, dest);
      else await fs.copyFile(source, dest);
    }
    await fs.writeFile(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    if (await exists(target)) {
      const trash = path.join(modelsDir, `.trash-${manifest.id}-${randomBytes(4).toString('hex')}`);
      await fs.rename(target, trash);
      await fs.rename(staging, target);
      await fs.rm(trash, { recursive: true, force: true });
    } else {
      await fs.rename(staging, target);
    }
    return target;
  } catch (e) {
    await fs.rm(staging, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new StemdeckError('disk-full', `The disk is full while installing into ${modelsDir}; free some space and try again.`, { cause: e });
    throw e;
  }
}

/** Reads the ONNX file's tensor names, so the manifest names what the file really has. */
export type TensorNameProbe = (file: string) => Promise<Partial<Contract> | null>;

/**
 * Downloads, verifies and installs a catalogue model. See the file comment for the guarantees.
 * `probe` (optional) may adjust the contract from the downloaded file (tensor names) or refuse
 * it by throwing StemdeckError('model-contract').
 */
export async function installCatalogueModel(
  entry: CatalogueEntry,
  opts: InstallOptions,
  probe?: TensorNameProbe,
): Promise<InstallResult> {
  if (opts.acceptTerms !== true)
    throw new StemdeckError(
      'invalid-request',
      `${entry.name} has terms you must accept before downloading: ${entry.terms} ` + `(CLI: add --accept-terms; app: tick "I accept".)`,
    );
  const modelsDir = opts.modelsDir ?? userModelsDir();
  checkUrl(new URL(entry.url), opts.allowLoopbackHttp === true);
  // One download per model at a time across processes (the app and the CLI share the folder).
  const lock = path.join(modelsDir, '.downloads', `${entry.id}.lock`);
  await fs.mkdir(path.dirname(lock), { recursive: true });
  await acquireLock(lock, entry.name);
  try {
    return await installUnlocked(entry, opts, modelsDir, probe);
  } finally {
    await fs.rm(lock, { force: true });
  }
}

async function acquireLock(lock: string, name: string): Promise<void> {
  try {
    await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const pid = Number((await fs.readFile(lock, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid))
    throw new StemdeckError(
      'invalid-request',
      `${name} is already being downloaded${pid === process.pid ? '' : ` by another Stemdeck process (${pid})`}; wait for it to finish or cancel it first.`,
    );
  await fs.writeFile(lock, String(process.pid)); // a stale lock (its process is gone): take it over
}

async function installUnlocked(
  entry: CatalogueEntry,
  opts: InstallOptions,
  modelsDir: string,
  probe?: TensorNameProbe,
): Promise<InstallResult> {
  const url = new URL(entry.url);
  checkUrl(url, opts.allowLoopbackHttp === true);
  const t0 = performance.now();
  const target = path.join(modelsDir, entry.id);
  if (!opts.replace && (await exists(target)))
    throw new StemdeckError('invalid-request', `${entry.name} is already installed; remove it first (stemdeck models remove ${entry.id}).`);

  const part = partialPath(modelsDir, entry);
  await fs.mkdir(path.dirname(part), { recursive: true });
  const have = await fs.stat(part).then(
    (s) => (s.size <= entry.bytes ? s.size : 0),
    () => 0,
  );
  if (have === 0) await fs.rm(part, { force: true });

  const state: FetchState = { received: have, resumed: have > 0 };
  let stage: DownloadStage = 'checking';
  let speed = 0;
  let eta: number | null = null;
  const report = (): void =>
    opts.onProgress?.({
      id: entry.id,
      stage,
      receivedBytes: state.received,
      totalBytes: entry.bytes,
      fraction: entry.bytes > 0 ? state.received / entry.bytes : 0,
      bytesPerSecond: speed,
      etaSeconds: eta,
      resumed: have > 0 || state.resumed,
    });
  report();

  // Free space: the rest of the file + the manifest + a margin, in the models folder's file system.
  const free = await (opts.freeSpace ?? defaultFreeSpace)(path.dirname(part));
  const needed = entry.bytes - have + MARGIN_BYTES;
  if (free < needed) {
    if (have === 0) await fs.rm(path.dirname(part), { recursive: true, force: true });
    const mb = (n: number): string => `${Math.ceil(n / 1e6)} MB`;
    throw new StemdeckError(
      'disk-full',
      `Not enough free space for ${entry.name}: it needs ${mb(needed)} in ${modelsDir}, only ${mb(free)} is free. ` +
        'Free some space, or set STEMDECK_MODELS to a folder on a bigger disk.',
    );
  }

  const meter = new Meter(
    (s, e) => {
      speed = s;
      eta = e;
      report();
    },
    () => entry.bytes,
  );
  stage = 'downloading';
  meter.tick(state.received, true);
  const retries = opts.retries ?? 3;
  try {
    for (let attempt = 0; ; attempt++) {
      if (state.received === entry.bytes) break;
      try {
        await fetchInto(url, part, state, entry.bytes, opts, () => meter.tick(state.received));
        break;
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        const retryable = isStemdeckError(e) && e.code === 'network' && /ECONNRESET|connection cut|ETIMEDOUT|EPIPE/.test(e.message + String((e.cause as Error)?.message ?? ''));
        if (!retryable || attempt >= retries) throw e;
        state.received = await fs.stat(part).then((s) => s.size, () => 0);
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
      }
    }
  } catch (e) {
    if (opts.signal?.aborted) {
      const how = abortReason(opts.signal);
      if (how === 'cancel') await fs.rm(path.dirname(part), { recursive: true, force: true });
      throw new StemdeckError(
        'cancelled',
        how === 'pause'
          ? `Download of ${entry.name} paused at ${state.received} of ${entry.bytes} bytes; install again to resume.`
          : `Download of ${entry.name} cancelled; nothing was installed.`,
      );
    }
    throw e;
  }
  meter.tick(state.received, true);

  stage = 'verifying';
  report();
  try {
    await verifyFile(part, entry);
  } catch (e) {
    await fs.rm(path.dirname(part), { recursive: true, force: true });
    throw e;
  }
  if (opts.signal?.aborted) {
    if (abortReason(opts.signal) === 'cancel') {
      await fs.rm(path.dirname(part), { recursive: true, force: true });
      throw new StemdeckError('cancelled', `Install of ${entry.name} cancelled; nothing was installed.`);
    }
    throw new StemdeckError('cancelled', `Install of ${entry.name} paused; the verified download is kept, install again to finish.`);
  }

  stage = 'installing';
  report();
  let overrides: Partial<Contract> | null = null;
  try {
    overrides = probe ? await probe(part) : null;
  } catch (e) {
    // The file is the catalogue's (checksums matched) but cannot be run: keeping it would not help.
    await fs.rm(path.dirname(part), { recursive: true, force: true });
    throw e;
  }
  const manifest = manifestForEntry(entry, overrides ?? {});
  const dir = await installFiles(modelsDir, manifest, part, { moveFile: true, replace: opts.replace });
  await fs.rm(path.dirname(part), { recursive: true, force: true });
  stage = 'done';
  speed = 0;
  eta = 0;
  report();
  return { id: entry.id, dir, manifest, bytes: entry.bytes, seconds: (performance.now() - t0) / 1000, resumed: have > 0 || state.resumed };
}

/**
 * A download the app can pause, resume and cancel. `done` settles with the install result, or
 * rejects with StemdeckError('cancelled') after cancel(); after pause() it stays pending until
 * resume() finishes the download.
 */
export class ModelDownload {
  private controller = new AbortController();
  private resolveDone!: (r: InstallResult) => void;
  private rejectDone!: (e: unknown) => void;
  readonly done: Promise<InstallResult>;
  state: 'running' | 'paused' | 'done' | 'failed' | 'cancelled' = 'running';

  constructor(
    private readonly entry: CatalogueEntry,
    private readonly opts: Omit<InstallOptions, 'signal'>,
    private readonly probe?: TensorNameProbe,
  ) {
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => undefined);
    this.run();
  }

  private run(): void {
    this.state = 'running';
    const controller = new AbortController();
    this.controller = controller;
    installCatalogueModel(this.entry, { ...this.opts, signal: controller.signal }, this.probe).then(
      (r) => {
        this.state = 'done';
        this.resolveDone(r);
      },
      (e: unknown) => {
        if (controller.signal.aborted && controller.signal.reason === 'pause') return; // waiting for resume()
        this.state = controller.signal.aborted ? 'cancelled' : 'failed';
        this.rejectDone(e);
      },
    );
  }

  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.controller.abort('pause');
  }

  resume(): void {
    if (this.state === 'paused') this.run();
  }

  cancel(): void {
    if (this.state === 'running') this.controller.abort('cancel');
    else if (this.state === 'paused') {
      this.state = 'cancelled';
      const part = partialPath(this.opts.modelsDir ?? userModelsDir(), this.entry);
      void fs.rm(path.dirname(part), { recursive: true, force: true }).finally(() =>
        this.rejectDone(new StemdeckError('cancelled', `Download of ${this.entry.name} cancelled; nothing was installed.`)),
      );
    }
  }
}
