// ESLint flat config (typescript-eslint). Kept sane so everyone's code passes: correctness rules
// as errors, style left to the authors. Svelte components are type-checked by svelte-check
// (npm run typecheck); ESLint reads them (svelte-eslint-parser) only for the renderer's import rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import svelteParser from 'svelte-eslint-parser';

const CODE = ['**/*.{js,mjs,cjs,ts,mts,cts}'];
const APP = ['host', 'library', 'api', 'cli', 'shells', 'electron'];
const from = (...folders) => folders.map((f) => `**/${f}/**`);
// The renderer's aliases (tsconfig.paths.json, Vite) exist only in its builds: src-main code runs
// without them (the CLI through tsx from any folder, electron-vite's main build).
const RENDERER_ALIASES = {
  regex: '^\\$(api|shared)/',
  message: "$api/… and $shared/… are the renderer's aliases; src-main runs without them (the CLI, the Electron main build): import by relative path.",
};
// A later block's no-restricted-imports replaces an earlier one's for the same file: every src-main block keeps the alias rule.
const restrict = (files, group, message, extra = {}) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { ...extra, patterns: [typeof group === 'string' ? { regex: group, message } : { group, message }, ...(files.every((f) => f.startsWith('src-main/')) ? [RENDERER_ALIASES] : [])] },
    ],
  },
});
function layerRules() {
  return [
    { files: ['src-main/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [RENDERER_ALIASES] }] } },
    restrict(['src-main/engine/**/*.ts'], from(...APP), 'The engine is a library: it imports nothing from the app (host, library, API, CLI, shells, Electron). Pass what it needs as options; shared words live in src-main/shared/.', {
      paths: [{ name: 'electron', message: 'The engine runs without Electron.' }],
    }),
    restrict(['src-main/shared/**/*.ts', 'src-main/api/**/*.ts'], from('engine', 'host', 'library', 'cli', 'shells', 'electron'), 'The API contract and shared/ are vocabulary for every side (the renderer too): no engine or app code.'),
    restrict(['src-main/library/**/*.ts'], from('host', 'cli', 'shells', 'electron'), 'The library uses the engine; the host and shells use the library, not the other way round.'),
    restrict(['src-main/cli/**/*.ts'], from('host', 'library', 'shells', 'electron'), 'The CLI is a shell over the engine.'),
    restrict(['src-main/host/app.ts', 'src-main/host/model-handlers.ts'], '/engine/(?!index\\.js$)', "The app uses the engine's public API: import from engine/index.ts (export what you need there)."),
    // no path into src-main at all: $api/… and $shared/… are the only way in (the aliases reach nothing else)
    restrict(['src-renderer/**/*.ts', 'src-renderer/**/*.svelte'], 'src-main/', 'The renderer sees src-main only through its aliases: $api/… (the API contract, src-main/api) and $shared/… (src-main/shared), not by relative path.'),
  ];
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'out/**',
      'dist/**',
      'release/**',
      'build/**',
      'resources/**',
      'training/**',
      'bench-results/**',
      'coverage/**',
      '**/.tmp/**',
      // Scratch files and folders at the root (e.g. .prof-*.ts) are nobody's product code.
      '.*',
      '.*/**',
    ],
  },
  {
    files: CODE,
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-ignore': 'allow-with-description', 'ts-expect-error': 'allow-with-description' }],
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-control-regex': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      'prefer-const': ['error', { destructuring: 'all' }],
    },
  },
  {
    // Svelte components: parsed (TypeScript in <script lang="ts">) for the renderer's import rule only.
    files: ['src-renderer/**/*.svelte'],
    languageOptions: { parser: svelteParser, parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // Renderer and renderer-side API client run in the browser.
    files: ['src-renderer/**/*.ts', 'src-main/api/client.ts', 'src-main/electron/preload.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // Layers point one way (README, Layout): engine ← library ← host ← shells; the API contract and
  // shared/ are vocabulary every side may use; the renderer sees src-main only through them.
  ...layerRules(),
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
