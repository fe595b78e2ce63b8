/**
 * A quiet install and start (issue 14.12, 14.13): what `npm install` would warn about is checked
 * from the files that decide it (.npmrc, package.json, package-lock.json, README), and the renderer
 * build prints nothing. The install itself on a clean clone is CI's job (.ci/run), which also
 * type-checks and builds the Electron shell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { repoRoot, tempDir } from './helpers.js';

const require = createRequire(import.meta.url);
const semver = require('semver') as { satisfies(v: string, range: string): boolean };
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string }; hasInstallScript?: boolean; optional?: boolean; dev?: boolean }>;
};
const lockPackages = Object.entries(lock.packages)
  .filter(([where]) => where.startsWith('node_modules/'))
  .map(([where, p]) => ({ name: where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length), ...p }));

test('.npmrc holds only settings npm knows (an unknown one is a warning on every npm command)', () => {
  const keys = fs
    .readFileSync(path.join(repoRoot, '.npmrc'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith(';'))
    .map((l) => l.split('=')[0].trim());
  // without `npm test`'s own npm_config_* variables, which carry the project's .npmrc keys along
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
  const r = spawnSync('npm', ['config', 'ls', '-l', '--json'], { cwd: tempDir('stemdeck-npmrc-'), env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const known = new Set(Object.keys(JSON.parse(r.stdout) as object));
  for (const k of keys) assert.ok(known.has(k), `.npmrc sets "${k}", which npm does not know`);
});

test("the README's Node version is true: no locked package wants a newer Node (EBADENGINE)", () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const min = /Node\.js ≥ (\d+\.\d+)/.exec(readme)?.[1];
  assert.ok(min, 'the README names a Node version');
  assert.equal(pkg.engines.node, `>=${min}`, 'package.json engines match the README');
  const wanting = lockPackages
    .filter((p) => p.engines?.node && !semver.satisfies(`${min}.0`, p.engines.node))
    .map((p) => `${p.name}@${p.version} (node ${p.engines!.node})`);
  assert.deepEqual(wanting, []);
});

test('every install script is reviewed in allowScripts (npm 11 lists unreviewed ones as if the install failed)', () => {
  const allowed = pkg.allowScripts ?? {};
  const unreviewed = lockPackages
    .filter((p) => p.hasInstallScript && !(p.name in allowed))
    // optional dependencies with install scripts are skipped silently (ffmpeg-static: @ffmpeg-installer is the fallback)
    .filter((p) => !(p.optional && !p.dev && p.name in (pkg.optionalDependencies ?? {})))
    .map((p) => `${p.name}@${p.version}`);
  assert.deepEqual([...new Set(unreviewed)], []);
});

test('electron is a devDependency (electron-vite convention); its download is left to npm start, never the install', () => {
  assert.ok(pkg.devDependencies.electron, 'electron in devDependencies');
  assert.ok(!pkg.optionalDependencies?.electron, 'not an optional dependency (npm 11 skips it)');
  // offline, a devDependency whose install script fails fails the whole `npm install`
  assert.equal(pkg.allowScripts?.electron, false);
  const ci = fs.readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8');
  assert.match(ci, /^npm run typecheck\b/m);
  assert.match(ci, /^npm run build\b/m, 'CI builds the Electron shell');
  const typecheck = fs.readFileSync(path.join(repoRoot, 'scripts', 'typecheck-electron.js'), 'utf8');
  assert.doesNotMatch(typecheck, /skipping/, 'the Electron shell is always type-checked');
});

test('the renderer build prints no warnings', () => {
  const out = tempDir('stemdeck-build-');
  const r = spawnSync(
    process.execPath,
    [path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--outDir', out, '--emptyOutDir'],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'vite build (logLevel warn) printed something');
});
