// WAV files over 4 GiB (issue 12 §8): about 3 h 22 min of 32-bit float stereo at 44.1 kHz no longer
// fits RIFF's 32-bit sizes. Such files are written as RF64 (EBU Tech 3306). Checked without writing
// 4 GiB: the header is built for a data size over 4 GiB and put in front of a sparse file of that
// size, then read back by our reader and by the real ffmpeg (an independent reader).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { locateFfmpeg, writeAudio } from '../../src-main/engine/index.js';
import { buildWavHeader, readWavInfo, wavHeader, RIFF_MAX_BYTES } from '../../src-main/engine/output/wav.js';
import { tempDir } from './helpers.js';

const work = tempDir();
after(() => fs.rmSync(work, { recursive: true, force: true }));

const SR = 44100;
/** 4 h of 32-bit float stereo: 5.08 GB of samples. */
const FRAMES = 4 * 3600 * SR;
const DATA_BYTES = FRAMES * 2 * 4;

/** Chunks of a header: id → { at, size } (size as the 32-bit field says). */
function chunks(h: Buffer): Map<string, { at: number; size: number }> {
  const out = new Map<string, { at: number; size: number }>();
  for (let o = 12; o + 8 <= h.length; ) {
    const size = h.readUInt32LE(o + 4);
    out.set(h.toString('ascii', o, o + 4), { at: o + 8, size });
    if (h.toString('ascii', o, o + 4) === 'data') break;
    o += 8 + size + (size % 2);
  }
  return out;
}

/** ffmpeg's idea of the file: its duration in seconds (from the header; reads no samples). */
function ffmpegDuration(file: string): number {
  const r = spawnSync(locateFfmpeg().path, ['-hide_banner', '-nostdin', '-i', file], { encoding: 'utf8' });
  const m = /Duration: (\d+):(\d+):(\d+\.\d+)/.exec(r.stderr);
  assert.ok(m, `ffmpeg reads a duration: ${r.stderr}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** A sparse WAV file of `dataBytes` zeros behind `header` (takes no disk space). */
function sparseWav(file: string, header: Buffer, dataBytes: number): string {
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, header, 0, header.length, 0);
  fs.ftruncateSync(fd, header.length + dataBytes + (dataBytes % 2));
  fs.closeSync(fd);
  return file;
}

test('export header over 4 GiB: RF64 with the real sizes in ds64; our reader and ffmpeg read 4 h', async () => {
  const h = wavHeader('wav32f', SR, 2, FRAMES);
  assert.equal(h.toString('ascii', 0, 4), 'RF64');
  assert.equal(h.readUInt32LE(4), 0xffffffff, 'RIFF size field: "see ds64"');
  const c = chunks(h);
  assert.deepEqual([...c.keys()], ['ds64', 'fmt ', 'fact', 'data'], 'ds64 is the first chunk');
  const ds64 = c.get('ds64')!;
  assert.equal(Number(h.readBigUInt64LE(ds64.at)), h.length - 8 + DATA_BYTES, 'ds64 riff size');
  assert.equal(Number(h.readBigUInt64LE(ds64.at + 8)), DATA_BYTES, 'ds64 data size');
  assert.equal(Number(h.readBigUInt64LE(ds64.at + 16)), FRAMES, 'ds64 sample count');
  assert.equal(c.get('data')!.size, 0xffffffff);
  assert.equal(c.get('data')!.at, h.length, 'the samples follow the header');

  const file = sparseWav(path.join(work, 'four-hours.wav'), h, DATA_BYTES);
  const info = await readWavInfo(file);
  assert.equal(info.frames, FRAMES);
  assert.equal(info.dataOffset, h.length);
  assert.ok(Math.abs(ffmpegDuration(file) - FRAMES / SR) < 0.1, `ffmpeg: ${ffmpegDuration(file)} s, want ${FRAMES / SR} s`);
});

test('streaming writer header: the same length at any size (JUNK reserves ds64), RF64 only past 4 GiB', async () => {
  const layout = { sampleRate: SR, channels: 2, bits: 32 as const, float: true };
  const small = buildWavHeader(layout, 1000 * 8, { reserveDs64: true });
  const big = buildWavHeader(layout, DATA_BYTES, { reserveDs64: true });
  assert.equal(small.length, big.length, 'patched in place at the end, so one length');
  assert.equal(small.toString('ascii', 0, 4), 'RIFF');
  assert.deepEqual([...chunks(small).keys()], ['JUNK', 'fmt ', 'fact', 'data']);
  assert.equal(big.toString('ascii', 0, 4), 'RF64');
  assert.deepEqual([...chunks(big).keys()], ['ds64', 'fmt ', 'fact', 'data']);
  // the boundary: the largest RIFF file, and one frame more
  const edge = RIFF_MAX_BYTES - (small.length - 8);
  const lastRiff = edge - (edge % 8) - 8;
  assert.equal(buildWavHeader(layout, lastRiff, { reserveDs64: true }).toString('ascii', 0, 4), 'RIFF');
  assert.equal(buildWavHeader(layout, lastRiff + 16, { reserveDs64: true }).toString('ascii', 0, 4), 'RF64');
  // 24-bit PCM past 4 GiB too (odd frame sizes)
  const pcm = buildWavHeader({ sampleRate: SR, channels: 2, bits: 24, float: false }, 6 * 3 * 10 ** 9, { reserveDs64: true });
  assert.equal(pcm.length, buildWavHeader({ sampleRate: SR, channels: 2, bits: 24, float: false }, 6, { reserveDs64: true }).length);
  const file = sparseWav(path.join(work, 'pcm24.wav'), pcm, 6 * 3 * 10 ** 9);
  assert.equal((await readWavInfo(file)).frames, 3 * 10 ** 9);
  assert.ok(Math.abs(ffmpegDuration(file) - 3e9 / SR) < 0.1);
});

test('a stem written by the streaming writer has the reserved header and reads back in ffmpeg and our reader', async () => {
  const n = 4410;
  const x = [Float32Array.from({ length: n }, (_, i) => Math.sin(i / 10)), new Float32Array(n).fill(0.25)];
  const file = path.join(work, 'stem.wav');
  await writeAudio(file, x, SR, 'wav');
  const b = fs.readFileSync(file);
  const h = buildWavHeader({ sampleRate: SR, channels: 2, bits: 32, float: true }, n * 8, { reserveDs64: true });
  assert.deepEqual(b.subarray(0, h.length), h, 'the header the writer patched in at the end');
  assert.equal(b.length, h.length + n * 8);
  const info = await readWavInfo(file);
  assert.equal(info.frames, n);
  assert.ok(Math.abs(ffmpegDuration(file) - n / SR) < 0.01);
});
