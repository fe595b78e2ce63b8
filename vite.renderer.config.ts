// Vite config for the renderer (Svelte 5): `npm run build:renderer` → out/renderer.
// The same build is served by the browser shell and loaded by the Electron window.
import { defineConfig, type Rollup, type UserConfig } from 'vite';

type RollupLog = Rollup.RollupLog;
import { svelte } from '@sveltejs/vite-plugin-svelte';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The renderer's aliases into src-main — `$api/…` (src-main/api) and `$shared/…` (src-main/shared),
 * the only folders of src-main it may use — as Vite aliases. Defined once, as TypeScript paths in
 * tsconfig.paths.json (which tsc, svelte-check and tsx read through "extends"); every renderer
 * build, including tests that build with `configFile: false`, takes them from here.
 */
export const rendererAlias: Record<string, string> = Object.fromEntries(
  Object.entries((JSON.parse(fs.readFileSync(here('./tsconfig.paths.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths).map(
    ([alias, [target]]) => [alias.replace(/\/\*$/, ''), here(target.replace(/\/\*$/, ''))],
  ),
);

/** zod's sources carry /* @__PURE__ *\/ comments where Rollup ignores them: harmless, but its
 * warning made newcomers think the build failed. Every other warning still shows. */
export function quietDependencyAnnotations(warning: RollupLog, warn: (w: RollupLog) => void): void {
  if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
  warn(warning);
}

/** The renderer build, the one definition for `npm run build:renderer` and electron-vite's renderer (electron.vite.config.ts). */
export function rendererConfig() {
  return {
    root: here('./src-renderer'),
    base: './',
    plugins: [svelte()],
    resolve: { alias: rendererAlias, extensions: ['.ts', '.js', '.svelte', '.json'] },
    build: {
      outDir: here('./out/renderer'),
      emptyOutDir: true,
      target: 'chrome120',
      sourcemap: false,
      chunkSizeWarningLimit: 1500,
      reportCompressedSize: false,
      rollupOptions: { onwarn: quietDependencyAnnotations } as Rollup.RollupOptions,
    },
  } satisfies UserConfig;
}

export default defineConfig({
  ...rendererConfig(),
  server: { host: '127.0.0.1', strictPort: false },
  clearScreen: false,
  logLevel: 'warn',
});
