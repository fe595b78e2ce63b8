/**
 * `npm run bench` — speed and memory of every installed model: the bundled ones, then every model
 * in the user's models folder (catalogue downloads such as HTDemucs or UVR MDX-Net, imports,
 * cascades), so users see what a download costs on their CPU. Not part of `npm test`.
 *
 *   npm run bench -- [--json] [--seconds 600] [--models a,b] [--model ID|PATH]… [--batch N] [--threads N]
 *                    [--parallel-stages] [--update-manifests] [--cpu-prof] [--no-chart] [--no-ttfa] [--live-only]
 *
 * `--models` / `--model` (repeatable) bench these installed models instead of all of them:
 * any id from `stemdeck models list` (bundled or yours, cascades too) or a path to a manifest.
 * A cascade is benched as one model (all its stages, one separateFile() call);
 * `--parallel-stages` runs its stages' ONNX Runtime sessions concurrently (SeparateOptions.parallelStages).
 *
 * For each model: a generated stereo test song (ffmpeg, cached in os.tmpdir()) is
 * separated in a child process (so its peak RSS — VmHWM — is the engine's alone), timing
 *   endToEndSeconds   decode → separate → write, the whole separateFile() call
 *   inferenceSeconds  SeparationResult.inferenceSeconds (ONNX Runtime run() time only)
 *   overheadRatio     endToEndSeconds / inferenceSeconds
 *   realtimeFactor    song seconds / endToEndSeconds
 *   peakRssMB         VmHWM of the child, MiB
 * plus the mixer's time to first audio after opening a separated song (the real renderer in headless
 * Chromium via test/e2e/chromium.ts; null with a note when it cannot run), the time from dropping a new
 * 4-minute song on the window to its first audio while it separates (liveTimeToFirstAudioMs: upload,
 * job start, mixture decode, fetch, play; the median of 3 drops of distinct songs, each listed in the
 * detailed JSON), a PNG chart in bench-results/
 * and a detailed JSON (load averages, batch memory series) next to it.
 * `--live-only` measures only liveTimeToFirstAudioMs (the default model; no model runs, no cold open).
 *
 * `--json` prints exactly {"models":[{id, realtimeFactor, inferenceSeconds, endToEndSeconds,
 * overheadRatio, peakRssMB}], "timeToFirstAudioMs", "liveTimeToFirstAudioMs"} on stdout (everything else goes to stderr).
 * (npm itself prints its `> stemdeck bench` banner on stdout first: use `npm run -s bench -- --json`
 * for stdout that is only the JSON line.)
 * `--batch N` separates N short distinct files in ONE child process and checks that its RSS
 * stays flat. `--update-manifests` writes the measured realtimeFactor into each bundled manifest.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const resultsDir = path.join(root, 'bench-results');
const SONG_VERSION = 'v1';

interface Args {
  json: boolean;
  seconds: number;
  models: string[] | null;
  batch: number;
  threads: number | null;
  updateManifests: boolean;
  cpuProf: boolean;
  chart: boolean;
  ttfa: boolean;
  liveOnly: boolean;
  format: string;
  parallelStages: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    json: false,
    seconds: 600,
    models: null,
    batch: 0,
    threads: null,
    updateManifests: false,
    cpuProf: false,
    chart: true,
    ttfa: true,
    liveOnly: false,
    format: 'wav',
    parallelStages: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    if (k === '--json') a.json = true;
    else if (k === '--seconds') a.seconds = Number(next());
    else if (k === '--models') a.models = [...(a.models ?? []), ...next().split(',').filter(Boolean)];
    else if (k === '--model') a.models = [...(a.models ?? []), next()];
    else if (k === '--parallel-stages') a.parallelStages = true;
    else if (k === '--batch') a.batch = Number(next());
    else if (k === '--threads') a.threads = Number(next());
    else if (k === '--format') a.format = next();
    else if (k === '--update-manifests') a.updateManifests = true;
    else if (k === '--cpu-prof') a.cpuProf = true;
    else if (k === '--no-chart') a.chart = false;
    else if (k === '--no-ttfa') a.ttfa = false;
    else if (k === '--live-only') a.liveOnly = true;
    else if (k === '--help' || k === '-h') {
      process.stderr.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0] + '*/\n');
      process.exit(0);
    } else throw new Error(`unknown option ${k}`);
  }
  if (!(a.seconds > 0)) throw new Error('--seconds must be > 0');
  if (!(a.batch >= 0)) throw new Error('--batch must be ≥ 0');
  return a;
}

const log = (msg: string): void => void process.stderr.write(msg + '\n');

// ─── test audio ──────────────────────────────────────────────────────────────────

async function ffmpegPath(): Promise<string> {
  const { locateFfmpeg } = await import('../src-main/engine/ffmpeg.js');
  return locateFfmpeg().path;
}

/**
 * A 30-s stereo "song" pattern at 44.1 kHz: a decaying 55 Hz kick on every beat (120 bpm),
 * a stepping bass line, noise hi-hats on the off-beats and a vibrato "voice" whose pitch
 * changes every second, panned differently per channel. `variant` shifts pitches and the
 * noise seed so batch files differ.
 */
function patternExpr(variant: number): string {
  const f = 1 + (variant % 12) / 24;
  const ch = (c: number, voiceHz: number, pan: number): string =>
    [
      `0.45*sin(2*PI*55*t)*exp(-mod(t,0.5)*12)`,
      `0.22*sin(2*PI*${(55 * f).toFixed(3)}*(1+floor(mod(t/2,4))/4)*t)`,
      `${(0.14 * pan).toFixed(3)}*(2*random(${c})-1)*exp(-mod(t+0.25,0.5)*40)`,
      `${(0.16 * (2 - pan)).toFixed(3)}*sin(2*PI*${(voiceHz * f).toFixed(3)}*(1+floor(mod(t,3))/8)*t+3*sin(2*PI*5*t))`,
    ].join('+');
  return `${ch(0, 440, 1.2)}|${ch(1, 330, 0.8)}`;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed: ${r.stderr?.slice(-2000)}`);
}

/** A stereo 44.1 kHz FLAC of `seconds`, cached in os.tmpdir()/stemdeck-bench. */
export async function testSong(seconds: number, variant = 0): Promise<string> {
  const dir = path.join(os.tmpdir(), 'stemdeck-bench');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `song-${SONG_VERSION}-${variant}-${seconds}s.flac`);
  if (fs.existsSync(out)) return out;
  const ff = await ffmpegPath();
  const pattern = path.join(dir, `pattern-${SONG_VERSION}-${variant}.flac`);
  if (!fs.existsSync(pattern)) {
    const tmp = `${pattern}.${process.pid}.tmp.flac`;
    run(ff, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
      `aevalsrc=exprs='${patternExpr(variant)}':s=44100:d=30`, '-c:a', 'flac', tmp]);
    fs.renameSync(tmp, pattern);
  }
  const tmp = `${out}.${process.pid}.tmp.flac`;
  run(ff, ['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '-1', '-i', pattern, '-t', String(seconds),
    '-c:a', 'flac', tmp]);
  fs.renameSync(tmp, out);
  return out;
}

// ─── child: one separation (or a batch) in its own process ─────────────────────────

interface ChildResult {
  id: string;
  durationSeconds: number;
  endToEndSeconds: number;
  inferenceSeconds: number;
  vmHwmKB: number;
  /** CPU seconds of the child (all its threads) and of its waited-for children (ffmpeg), from /proc/self/stat. */
  cpuSeconds: number;
  /** batch mode only: VmRSS (KiB) after each file, and per-file seconds. */
  rssSeriesKB?: number[];
  fileSeconds?: number[];
}

/** utime + stime + cutime + cstime of this process, in seconds (Linux; 0 elsewhere). */
function procCpuSeconds(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 of proc(5) = indices 11-14 after the state field
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

function procStatusKB(pid: number | 'self', field: 'VmHWM' | 'VmRSS'): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function child(argv: string[]): Promise<void> {
  const opt = JSON.parse(argv[0]) as {
    model: string; inputs: string[]; outDir: string; result: string; threads: number | null; format: string; parallelStages: boolean;
  };
  const engine = await import('../src-main/engine/index.js');
  const registry = await engine.loadRegistry();
  const model = registry.get(opt.model);
  const series: number[] = [];
  const fileSeconds: number[] = [];
  let durationSeconds = 0;
  let inferenceSeconds = 0;
  const cpu0 = procCpuSeconds();
  const t0 = performance.now();
  for (let i = 0; i < opt.inputs.length; i++) {
    const outDir = opt.inputs.length === 1 ? opt.outDir : path.join(opt.outDir, String(i));
    const f0 = performance.now();
    const r = await engine.separateFile({
      input: opt.inputs[i],
      outDir,
      model,
      format: opt.format as never,
      ...(opt.threads ? { threads: opt.threads } : {}),
      ...(opt.parallelStages ? { parallelStages: true } : {}),
      ortWorker: process.env.STEMDECK_ORT_WORKER !== '0',
    });
    fileSeconds.push((performance.now() - f0) / 1000);
    durationSeconds += r.durationSeconds;
    inferenceSeconds += r.inferenceSeconds;
    if (opt.inputs.length > 1) {
      fs.rmSync(outDir, { recursive: true, force: true });
      series.push(procStatusKB('self', 'VmRSS'));
    }
  }
  const endToEndSeconds = (performance.now() - t0) / 1000;
  const res: ChildResult = {
    id: typeof model === 'string' ? model : model.manifest.id,
    durationSeconds,
    endToEndSeconds,
    inferenceSeconds,
    vmHwmKB: procStatusKB('self', 'VmHWM'),
    cpuSeconds: procCpuSeconds() - cpu0,
    ...(opt.inputs.length > 1 ? { rssSeriesKB: series, fileSeconds } : {}),
  };
  fs.writeFileSync(opt.result, JSON.stringify(res));
}

async function runChild(
  args: Args,
  model: string,
  inputs: string[],
  tag: string,
): Promise<ChildResult & { parentHwmKB: number; load: [number, number] }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stemdeck-bench-run-'));
  const resultFile = path.join(work, 'result.json');
  const opt = { model, inputs, outDir: path.join(work, 'out'), result: resultFile, threads: args.threads, format: args.format, parallelStages: args.parallelStages };
  const nodeArgs = ['--import', 'tsx'];
  if (args.cpuProf) {
    fs.mkdirSync(path.join(resultsDir, 'prof'), { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', path.join(resultsDir, 'prof'), '--cpu-prof-name', `${tag}-${Date.now()}.cpuprofile`);
  }
  const load0 = os.loadavg()[0];
  const cp = spawn(process.execPath, [...nodeArgs, fileURLToPath(import.meta.url), '--child', JSON.stringify(opt)], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Also sample VmHWM from outside, in case the child dies before reporting.
  let parentHwmKB = 0;
  const timer = setInterval(() => {
    if (cp.pid) parentHwmKB = Math.max(parentHwmKB, procStatusKB(cp.pid, 'VmHWM'));
  }, 250);
  const code = await new Promise<number | null>((resolve) => cp.on('exit', (c) => resolve(c)));
  clearInterval(timer);
  const load1 = os.loadavg()[0];
  try {
    if (code !== 0) throw new Error(`benchmark child for ${model} exited with ${code}`);
    const r = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as ChildResult;
    return { ...r, parentHwmKB, load: [load0, load1] };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ─── time to first audio (the renderer in headless Chromium) ──────────────────────

type BenchApp = import('../src-main/host/app.js').App;
type BenchPage = import('puppeteer-core').Page;

/**
 * Runs `fn` with the app (browser shell + engine host, `modelId`) in a temporary home, its renderer
 * built with vite into a temp dir and served to a headless Chromium (test/e2e/chromium.ts) — the page
 * open on the library. `prepare` runs before the page opens. Everything is stopped and removed after.
 */
async function withBrowserApp<T>(modelId: string, prepare: (app: BenchApp) => Promise<void>, fn: (app: BenchApp, page: BenchPage) => Promise<T>): Promise<T> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stemdeck-bench-ttfa-'));
  const saved = { STEMDECK_HOME: process.env.STEMDECK_HOME, STEMDECK_LIBRARY: process.env.STEMDECK_LIBRARY, STEMDECK_MODELS: process.env.STEMDECK_MODELS };
  process.env.STEMDECK_HOME = path.join(tmp, 'home');
  process.env.STEMDECK_LIBRARY = path.join(tmp, 'home', 'library');
  process.env.STEMDECK_MODELS = path.join(tmp, 'home', 'models');
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const rendererDir = path.join(tmp, 'renderer');
    const { build } = await import('vite');
    await build({ configFile: path.join(root, 'vite.renderer.config.ts'), build: { outDir: rendererDir, emptyOutDir: true }, logLevel: 'error' });
    const { App } = await import('../src-main/host/app.js');
    const { startBrowserShell } = await import('../src-main/shells/browser/server.js');
    const { launchChromium } = await import('../test/e2e/chromium.js');
    const app = new App({ shell: 'browser' });
    await app.start();
    cleanup.push(() => app.stop());
    await app.settings.set({ model: modelId });
    await prepare(app);
    const shell = await startBrowserShell({ app, rendererDir, port: 0 });
    cleanup.unshift(() => shell.close());
    const browser = await launchChromium();
    cleanup.unshift(() => browser.close());
    const page = await browser.newPage();
    await page.goto(shell.url);
    await page.waitForSelector('select[aria-label="Separation model"] option', { timeout: 30_000 });
    return await fn(app, page);
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The mixer's time to first audio (window.__stemdeckMixer.timings.firstAudioMs) once it has one. */
async function mixerFirstAudioMs(page: BenchPage, live: boolean): Promise<number> {
  await page.waitForFunction(
    (live) => {
      const m = (window as unknown as { __stemdeckMixer?: { jobId: string | null; timings: { firstAudioMs: number | null } } }).__stemdeckMixer;
      return !!m && (!live || !!m.jobId) && m.timings.firstAudioMs != null;
    },
    { timeout: 120_000, polling: 20 },
    live,
  );
  return page.evaluate(() => (window as unknown as { __stemdeckMixer: { timings: { firstAudioMs: number } } }).__stemdeckMixer.timings.firstAudioMs);
}

/** `song` separated through the app (before the page opens: a page that saw the job end would prefetch its song). */
async function separateInApp(app: BenchApp, song: string): Promise<void> {
  app.guard.choose(song);
  const opened = await app.openFiles([song], undefined);
  const jobId = opened.jobs[0]?.id;
  if (!jobId) throw new Error(`the app did not start a job: ${JSON.stringify(opened.refused)}`);
  const job = await jobEnd(app, jobId);
  if (job.status !== 'done') throw new Error(`separation in the app ${job.status}: ${JSON.stringify(job.error)}`);
}

/**
 * Opens the separated song in the real mixer and measures open → first audible output, as the
 * renderer itself reports it (MixerView: window.__stemdeckMixer.timings.firstAudioMs, measured
 * from the click that opens the song to the first non-zero master level). Play is clicked as soon
 * as the mixer shows (no hover prefetch), so this is the cold figure.
 */
async function coldTimeToFirstAudio(page: BenchPage): Promise<number> {
  await page.waitForSelector('[data-testid=song] button.main', { timeout: 30_000 });
  await page.click('[data-testid=song] button.main');
  await page.waitForSelector('[data-testid=play]', { timeout: 60_000 });
  await page.click('[data-testid=play]');
  return mixerFirstAudioMs(page, false);
}

function jobEnd(app: BenchApp, jobId: string): Promise<{ status: string; error: unknown }> {
  return new Promise((resolve) => {
    const on = (name: string, payload: unknown): void => {
      const j = payload as { id: string; status: string; error: unknown };
      if (name === 'job' && j.id === jobId && ['done', 'failed', 'cancelled'].includes(j.status)) {
        app.off('event', on);
        resolve(j);
      }
    };
    app.on('event', on);
  });
}

/** New songs dropped for the live figure (distinct, so none is already separated); the median is reported. */
const LIVE_DROPS = 3;

/**
 * Play while it separates: `drops` new 4-minute FLACs dropped on the window one after another,
 * each one's first audio while it separates as the mixer reports it (timings.firstAudioMs counts
 * from the drop event: upload, job start, mixture decode, fetch, play); each job is cancelled
 * and has ended before the next drop. The File is made in the page before the drop and the page
 * left a moment: a user's dropped file is on disk already, and making (and collecting) 35 MB of
 * test bytes in JavaScript is not the app's time.
 */
async function liveTimesToFirstAudio(app: BenchApp, page: BenchPage, drops: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < drops; i++) {
    const song = await testSong(240, 7 + i);
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      (window as unknown as { __benchFile: File }).__benchFile = new File([bytes], 'bench-live.flac', { type: 'audio/flac' });
    }, fs.readFileSync(song).toString('base64'));
    await new Promise((r) => setTimeout(r, 1500));
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add((window as unknown as { __benchFile: File }).__benchFile);
      for (const type of ['dragenter', 'dragover', 'drop']) document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    times.push(await mixerFirstAudioMs(page, true));
    const running = app.host.list().filter((j) => j.status === 'running' || j.status === 'queued');
    for (const j of running) app.host.cancel(j.id);
    await Promise.all(running.map((j) => jobEnd(app, j.id)));
    await page.click('nav button:first-child');
  }
  return times;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Ttfa {
  ms: number | null;
  liveMs: number | null;
  liveRunsMs: number[];
  note: string;
}

/** The cold open's time to first audio (unless `liveOnly`) and the live one after a drop, in one app and page. */
async function timeToFirstAudio(song: string, modelId: string, liveOnly = false): Promise<Ttfa> {
  const note = `headless Chromium, ${liveOnly ? '' : 'cold open → first audible output, '}${modelId}; live: median of ${LIVE_DROPS} drops of a 240-s FLAC → first audio while it separates`;
  try {
    const prepare = liveOnly ? async () => undefined : (app: BenchApp) => separateInApp(app, song);
    return await withBrowserApp(modelId, prepare, async (app, page) => {
      const ms = liveOnly ? null : await coldTimeToFirstAudio(page);
      if (!liveOnly) await page.click('nav button:first-child');
      let liveRunsMs: number[] = [];
      try {
        liveRunsMs = await liveTimesToFirstAudio(app, page, LIVE_DROPS);
      } catch (e) {
        log(`  live time to first audio not measured: ${(e as Error).message.split('\n')[0]}`);
      }
      return { ms, liveMs: median(liveRunsMs), liveRunsMs, note };
    });
  } catch (e) {
    return { ms: null, liveMs: null, liveRunsMs: [], note: `time to first audio not measured: ${(e as Error).message.split('\n')[0]}` };
  }
}

// ─── chart ───────────────────────────────────────────────────────────────────────

interface Row {
  id: string;
  realtimeFactor: number;
  inferenceSeconds: number;
  endToEndSeconds: number;
  overheadRatio: number;
  peakRssMB: number;
}

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

function chartSvg(rows: Row[], title: string): string {
  const W = 960;
  const panels: { key: keyof Row; label: string; target?: number; better: 'high' | 'low' }[] = [
    { key: 'realtimeFactor', label: 'real-time factor (×, end to end)', target: 20, better: 'high' },
    { key: 'overheadRatio', label: 'overhead ratio (end to end / inference)', target: 1.15, better: 'low' },
    { key: 'peakRssMB', label: 'peak RSS (MiB)', target: 600, better: 'low' },
  ];
  const rowH = 26;
  const panelH = 40 + rows.length * rowH + 20;
  const H = 70 + panels.length * panelH;
  const left = 200;
  const right = W - 110;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="20" y="34" font-size="20" font-weight="bold">Stemdeck benchmark</text>`,
    `<text x="20" y="56" font-size="12" fill="#555">${esc(title)}</text>`,
  ];
  panels.forEach((p, pi) => {
    const y0 = 70 + pi * panelH;
    const vals = rows.map((r) => Number(r[p.key]));
    const max = Math.max(p.target ?? 0, ...vals) * 1.1 || 1;
    const x = (v: number): number => left + ((right - left) * v) / max;
    parts.push(`<text x="20" y="${y0 + 24}" font-size="14" font-weight="bold">${esc(p.label)}</text>`);
    rows.forEach((r, i) => {
      const v = Number(r[p.key]);
      const y = y0 + 36 + i * rowH;
      const ok = p.target === undefined ? true : p.better === 'high' ? v >= p.target : v <= p.target;
      parts.push(
        `<text x="${left - 8}" y="${y + 15}" font-size="12" text-anchor="end">${esc(r.id)}</text>`,
        `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${rowH - 8}" fill="${ok ? '#3a7' : '#d54'}"/>`,
        `<text x="${(x(v) + 6).toFixed(1)}" y="${y + 15}" font-size="12">${v.toFixed(p.key === 'overheadRatio' ? 3 : 1)}</text>`,
      );
    });
    if (p.target !== undefined) {
      const tx = x(p.target).toFixed(1);
      parts.push(
        `<line x1="${tx}" x2="${tx}" y1="${y0 + 32}" y2="${y0 + 36 + rows.length * rowH}" stroke="#222" stroke-dasharray="4 3"/>`,
        `<text x="${tx}" y="${y0 + 30}" font-size="11" text-anchor="middle" fill="#222">target ${p.target}</text>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function chromiumPath(): string | null {
  for (const p of [process.env.CHROMIUM_PATH, process.env.PUPPETEER_EXECUTABLE_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

/** SVG → PNG with headless Chromium's --screenshot (no downloads); returns the PNG path or null. */
function renderPng(svgFile: string, pngFile: string, w: number, h: number): string | null {
  const chrome = chromiumPath();
  if (!chrome) return null;
  const prof = fs.mkdtempSync(path.join(os.tmpdir(), 'stemdeck-bench-chrome-'));
  try {
    const r = spawnSync(chrome, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${prof}`,
      `--window-size=${w},${h}`, `--screenshot=${pngFile}`, `file://${svgFile}`], { stdio: 'ignore', timeout: 60_000 });
    return r.status === 0 && fs.existsSync(pngFile) ? pngFile : null;
  } finally {
    fs.rmSync(prof, { recursive: true, force: true });
  }
}

// ─── main ────────────────────────────────────────────────────────────────────────

function linearSlope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  return num / den;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { loadRegistry, isCascadeModel, cascadeStages } = await import('../src-main/engine/index.js');
  const registry = await loadRegistry();
  if (args.liveOnly) return liveOnly(args, registry.defaultId ?? registry.list()[0].manifest.id);
  const bundled = registry.list().filter((m) => m.origin === 'bundled');
  // Default: the bundled models, then every other installed one (downloads, imports, cascades).
  const installed = [...bundled, ...registry.list().filter((m) => m.origin !== 'bundled')];
  const { loadCatalogue } = await import('../src-main/engine/models/catalogue.js');
  const catalogueIds = new Set(loadCatalogue().models.map((m) => m.id));
  const originOf = (id: string): string => {
    const m = installed.find((x) => x.manifest.id === id);
    return m?.origin === 'bundled' ? 'bundled' : catalogueIds.has(id) ? 'catalogue' : 'user';
  };
  // ids of installed models, or manifest paths resolved to their ids (the child resolves the same way)
  const requested = args.models ?? installed.map((m) => m.manifest.id);
  if (requested.length === 0) throw new Error('no models found (resources/models and the user models folder are empty)');
  const targets = new Map<string, string>(); // id → what the child resolves
  for (const r of requested) {
    try {
      const m = registry.get(r); // unknown ids and missing cascade stages fail here, before any work
      if (isCascadeModel(m)) {
        const stages = cascadeStages(m, registry);
        log(`bench: ${m.manifest.id} is a cascade: ${stages.map((s, k) => `${s.manifest.id} (${m.manifest.cascade.stages[k].keep.join(', ')})`).join(' → ')}`);
      }
      targets.set(m.manifest.id, r);
    } catch (e) {
      // a model asked for by name must run; an installed one that cannot is reported and left out
      if (args.models) throw e;
      log(`bench: ${r} left out: ${(e as Error).message}`);
    }
  }
  const ids = [...targets.keys()];
  log(`bench: ${ids.join(', ')} on a ${args.seconds}-s song, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const song = await testSong(args.seconds);
  const rows: Row[] = [];
  const detail: Record<string, unknown>[] = [];
  for (const id of ids) {
    log(`bench: ${id} …`);
    const r = await runChild(args, targets.get(id) ?? id, [song], id);
    const peak = Math.max(r.vmHwmKB, r.parentHwmKB) / 1024;
    const row: Row = {
      id,
      realtimeFactor: round(r.durationSeconds / r.endToEndSeconds, 2),
      inferenceSeconds: round(r.inferenceSeconds, 3),
      endToEndSeconds: round(r.endToEndSeconds, 3),
      overheadRatio: round(r.endToEndSeconds / r.inferenceSeconds, 3),
      peakRssMB: round(peak, 1),
    };
    rows.push(row);
    // What the machine would do unloaded: song seconds per CPU second, times the cores.
    const cpuBoundRtf = r.cpuSeconds > 0 ? round((r.durationSeconds / r.cpuSeconds) * os.cpus().length, 1) : null;
    detail.push({ ...row, origin: originOf(id), songSeconds: r.durationSeconds, cpuSeconds: round(r.cpuSeconds, 2), cpuBoundRealtimeFactor: cpuBoundRtf,
      loadAvg1mBefore: r.load[0], loadAvg1mAfter: r.load[1] });
    log(`  ${id} (${originOf(id)}): ${row.realtimeFactor}× real time, e2e ${row.endToEndSeconds}s, inference ${row.inferenceSeconds}s, ` +
      `overhead ${row.overheadRatio}, peak RSS ${row.peakRssMB} MiB (load ${r.load[0].toFixed(2)}→${r.load[1].toFixed(2)}); ` +
      `CPU ${r.cpuSeconds.toFixed(1)} s → ${cpuBoundRtf ?? '?'}× real time if the ${os.cpus().length} cores were ours`);
  }

  let batch: Record<string, unknown> | null = null;
  if (args.batch > 0) {
    const id = args.models?.[0] ?? registry.defaultId ?? ids[0];
    const inputs: string[] = [];
    for (let i = 0; i < args.batch; i++) inputs.push(await testSong(10 + (i % 7), i % 12));
    log(`bench: batch of ${args.batch} files with ${id} in one process …`);
    const r = await runChild(args, id, inputs, `batch-${id}`);
    const mb = (r.rssSeriesKB ?? []).map((k) => k / 1024);
    const warm = mb.slice(Math.min(5, mb.length - 1));
    const slope = linearSlope(warm);
    const growth = warm.length ? Math.max(...warm) - warm[0] : 0;
    const flat = slope * 100 < 50 && growth < 100;
    batch = {
      model: id, files: args.batch, peakRssMB: round(Math.max(r.vmHwmKB, r.parentHwmKB) / 1024, 1),
      rssAfterFileMB: mb.map((v) => round(v, 1)), slopeMBPer100Files: round(slope * 100, 1),
      growthAfterWarmupMB: round(growth, 1), flat, load: r.load,
    };
    log(`  batch: RSS ${mb[0]?.toFixed(0)} → ${mb[mb.length - 1]?.toFixed(0)} MiB, slope ${(slope * 100).toFixed(1)} MiB/100 files, ` +
      `growth after warm-up ${growth.toFixed(1)} MiB → ${flat ? 'flat' : 'NOT flat'} (load ${r.load[0].toFixed(2)}→${r.load[1].toFixed(2)})`);
  }

  const ttfaModel = registry.defaultId && ids.includes(registry.defaultId) ? registry.defaultId : ids[0];
  if (args.ttfa) log(`bench: time to first audio (${ttfaModel}, ${args.seconds}-s song, headless Chromium) …`);
  const ttfa: Ttfa = args.ttfa ? await timeToFirstAudio(song, ttfaModel) : { ms: null, liveMs: null, liveRunsMs: [], note: 'skipped (--no-ttfa)' };
  log(`  time to first audio: ${ttfa.ms === null ? 'null' : `${ttfa.ms.toFixed(0)} ms`}; while separating, after a drop: ${ttfa.liveMs == null ? 'null' : `${ttfa.liveMs.toFixed(0)} ms`} (${ttfa.note})`);

  if (args.updateManifests) {
    for (const row of rows) {
      const m = bundled.find((b) => b.manifest.id === row.id);
      if (!m) continue;
      const f = m.manifestPath;
      const json = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
      if (json.id !== row.id) continue;
      json.realtimeFactor = row.realtimeFactor;
      const tmp = `${f}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(json, null, 2) + '\n');
      fs.renameSync(tmp, f);
      log(`  wrote realtimeFactor ${row.realtimeFactor} into ${path.relative(root, f)}`);
    }
  }

  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const title = `${args.seconds}-s stereo test song · ${os.cpus().length} cores · load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} · ${new Date().toISOString()}`;
  const full = { when: new Date().toISOString(), cores: os.cpus().length, songSeconds: args.seconds, models: detail, batch,
    timeToFirstAudioMs: ttfa.ms, liveTimeToFirstAudioMs: ttfa.liveMs, liveTimesToFirstAudioMs: ttfa.liveRunsMs, timeToFirstAudioNote: ttfa.note };
  fs.writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), JSON.stringify(full, null, 2));
  if (args.chart && rows.length) {
    const svg = chartSvg(rows, title);
    const svgFile = path.join(resultsDir, `bench-${stamp}.svg`);
    fs.writeFileSync(svgFile, svg);
    const h = Number(/height="(\d+)"/.exec(svg)![1]);
    const png = renderPng(svgFile, path.join(resultsDir, `bench-${stamp}.png`), 960, h);
    if (png) fs.copyFileSync(png, path.join(resultsDir, 'bench-latest.png'));
    log(`  chart: ${png ? path.relative(root, png) : `no Chromium found; SVG only: ${path.relative(root, svgFile)}`}`);
  }
  const out = { models: rows, timeToFirstAudioMs: ttfa.ms === null ? null : round(ttfa.ms, 1), liveTimeToFirstAudioMs: ttfa.liveMs == null ? null : round(ttfa.liveMs, 1) };
  if (args.json) process.stdout.write(JSON.stringify(out) + '\n');
  else {
    for (const r of rows) log(`${r.id}\t${r.realtimeFactor}×\toverhead ${r.overheadRatio}\t${r.peakRssMB} MiB`);
  }
}

/** `--live-only`: the live time to first audio alone (its JSON line has the same keys, models empty). */
async function liveOnly(args: Args, modelId: string): Promise<void> {
  log(`bench: live time to first audio only (${modelId}, ${LIVE_DROPS} drops of a 240-s FLAC, headless Chromium, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}) …`);
  const ttfa = await timeToFirstAudio('', modelId, true);
  log(`  while separating, after a drop: ${ttfa.liveMs == null ? 'null' : `${ttfa.liveMs.toFixed(0)} ms`} (runs: ${ttfa.liveRunsMs.map((m) => m.toFixed(0)).join(', ')} ms; ${ttfa.note})`);
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  fs.writeFileSync(
    path.join(resultsDir, `bench-live-${stamp}.json`),
    JSON.stringify({ when: new Date().toISOString(), cores: os.cpus().length, loadAvg: os.loadavg(), liveTimeToFirstAudioMs: ttfa.liveMs, liveTimesToFirstAudioMs: ttfa.liveRunsMs, note: ttfa.note }, null, 2),
  );
  if (args.json) process.stdout.write(JSON.stringify({ models: [], timeToFirstAudioMs: null, liveTimeToFirstAudioMs: ttfa.liveMs == null ? null : round(ttfa.liveMs, 1) }) + '\n');
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

if (process.argv[2] === '--child') {
  child(process.argv.slice(3)).catch((e: unknown) => {
    process.stderr.write(`bench child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
