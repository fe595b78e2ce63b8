#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (TypeScript through tsx).
// `npm test -- <filter>` runs only the files whose path contains <filter>.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    return statSync(full).isDirectory() ? walk(full) : name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = walk(path.join(root, 'test'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Every temp file of the run (tests, ffmpeg, Chromium) goes under one folder, removed afterwards
// (hundreds of MB per run otherwise); STEMDECK_KEEP_TMP=1 keeps it.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'stemdeck-test-run-'));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, STEMDECK_TEST: '1', TMPDIR: tmp, TMP: tmp, TEMP: tmp } },
);
if (process.env.STEMDECK_KEEP_TMP) console.error(`temp files kept in ${tmp}`);
else {
  try {
    rmSync(tmp, { recursive: true, force: true });
  } catch (e) {
    console.error(`could not remove the tests' temp folder ${tmp}: ${e.message}`); // e.g. a mount a test left behind
  }
}
process.exit(result.status ?? 1);
