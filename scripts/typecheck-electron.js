#!/usr/bin/env node
// Type-checks the Electron shell (tsconfig.electron.json) against the electron package's
// electron.d.ts. electron is a devDependency, so the package is always installed (its binary may
// not be: see scripts/start.js); a missing package is an error, never a silent skip.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!fs.existsSync(path.join(root, 'node_modules', 'electron', 'electron.d.ts'))) {
  console.error('typecheck: node_modules/electron is missing (it is a devDependency): run `npm install`');
  process.exit(1);
}
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.electron.json'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
