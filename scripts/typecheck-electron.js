#!/usr/bin/env node
// Type-checks the Electron shell (tsconfig.electron.json) when the electron package — which
// ships electron.d.ts — is installed; skips it (and says so) otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!fs.existsSync(path.join(root, 'node_modules', 'electron', 'electron.d.ts'))) {
  console.log('typecheck: node_modules/electron is absent, skipping src-main/electron (tsconfig.electron.json)');
  process.exit(0);
}
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.electron.json'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
