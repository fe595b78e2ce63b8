/**
 * The renderer's aliases into src-main ($api/…, $shared/…) mean the same folders to every tool:
 * TypeScript (tsconfig.json for tests and tsx, tsconfig.renderer.json for svelte-check) and Vite
 * (rendererAlias, used by the app's builds and by tests that build with `configFile: false`).
 * A paths entry written into one tsconfig only, or pointing elsewhere, fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import ts from 'typescript';
import { rendererAlias } from '../../vite.renderer.config.js';
import { repoRoot } from './helpers.js';

/** The paths a tsconfig ends up with (its "extends" followed), as alias → absolute folder. */
function tsconfigAliases(name: string): Record<string, string> {
  const file = path.join(repoRoot, name);
  const read = ts.readConfigFile(file, ts.sys.readFile);
  assert.equal(read.error, undefined, `${name} reads`);
  const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, repoRoot, undefined, file);
  const base = options.pathsBasePath as string;
  return Object.fromEntries(
    Object.entries(options.paths ?? {}).map(([alias, targets]) => {
      assert.equal(targets.length, 1, `${name}: ${alias} has one target`);
      return [alias.replace(/\/\*$/, ''), path.resolve(base, targets[0].replace(/\/\*$/, ''))];
    }),
  );
}

test('TypeScript and Vite resolve the renderer aliases to the same folders: src-main/api and src-main/shared only', () => {
  const expected = { $api: path.join(repoRoot, 'src-main', 'api'), $shared: path.join(repoRoot, 'src-main', 'shared') };
  assert.deepEqual(rendererAlias, expected);
  for (const name of ['tsconfig.json', 'tsconfig.renderer.json', 'tsconfig.electron.json']) assert.deepEqual(tsconfigAliases(name), expected, name);
});
