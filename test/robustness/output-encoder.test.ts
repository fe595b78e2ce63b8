// A dying encoder (issue 12 §2): the real ffmpeg FLAC/MP3 encoder child of a real separation is
// killed with a real SIGKILL part way through. The job must reject promptly with a clear error
// (not hang, not exit 0), leave nothing in the output folder or beside it, and the next job into
// the same folder must work. Linux only (finds the encoder through /proc).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile } from '../../src-main/engine/index.js';
import { StemdeckError } from '../../src-main/engine/errors.js';
import { identityWaveform, listFiles, makeTone, tempDir, useTempHome } from './helpers.js';

let work = '';
let home = '';
let input = '';
const SECONDS = 90;

before(() => {
  home = useTempHome();
  work = tempDir();
  input = makeTone(path.join(work, 'song.flac'), SECONDS, { codec: ['-c:a', 'flac'] });
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

/** Pids of this process's live ffmpeg children whose command line contains `needle`. */
function ffmpegChildren(needle: string): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
    const kids = fs.readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim();
    for (const k of kids.split(/\s+/).filter(Boolean)) {
      try {
        const cmd = fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0');
        const stat = fs.readFileSync(`/proc/${k}/stat`, 'utf8');
        if (!/\) Z /.test(stat) && /ffmpeg/i.test(path.basename(cmd[0])) && cmd.includes(needle)) out.push(Number(k));
      } catch {
        // already gone
      }
    }
  }
  return out;
}

/** Rejects when `p` has not settled within `ms` (so a hang fails the test instead of stalling it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms / 1000} s (hangs)`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

for (const [format, codec] of [
  ['flac', 'flac'],
  ['mp3', 'libmp3lame'],
] as const) {
  test(`SIGKILL of the ${format} encoder mid-run: a clear error, no files left, the next job works`, { skip: process.platform !== 'linux' }, async () => {
    const out = path.join(work, `out-${format}`);
    let killed = 0;
    const job = separateFile({
      input,
      outDir: out,
      model: identityWaveform,
      format,
      onProgress: (p) => {
        // a third of the way in, kill one of the running encoders (one per stem)
        if (killed || p.stage !== 'separate' || p.fraction < 0.3) return;
        const [pid] = ffmpegChildren(codec);
        if (!pid) return;
        process.kill(pid, 'SIGKILL');
        killed = pid;
      },
    });
    const error = await within(
      job.then(
        () => null,
        (e: unknown) => e,
      ),
      60_000,
      'the separation',
    );
    assert.ok(killed > 0, 'an encoder was found and killed');
    assert.ok(error instanceof StemdeckError, `rejects with a StemdeckError, got ${String(error)}`);
    assert.match(error.message, /ffmpeg/i, error.message);
    assert.match(error.message, /SIGKILL|killed/i, `says it was killed: ${error.message}`);
    assert.match(error.message, /try again/i, `says what to do: ${error.message}`);
    assert.deepEqual(listFiles(out), [], 'no stems and no temp files in the song folder');
    assert.deepEqual(
      fs.readdirSync(work).filter((n) => n.startsWith('.')),
      [],
      'no hidden staging folders or temp files beside it',
    );
    // the next job into the same folder works
    const r = await within(separateFile({ input, outDir: out, model: identityWaveform, format }), 120_000, 'the next job');
    assert.deepEqual(Object.keys(r.outputs).sort(), ['other', 'vocals']);
    assert.deepEqual(listFiles(out), [`other.${format}`, `vocals.${format}`]);
  });
}
