// Vite config for the renderer (Svelte 5): `npm run build:renderer` → out/renderer.
// The same build is served by the browser shell and loaded by the Electron window.
import { defineConfig, type Rollup, type UserConfig } from 'vite';

type RollupLog = Rollup.RollupLog;
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

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
    resolve: { extensions: ['.ts', '.js', '.svelte', '.json'] },
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
