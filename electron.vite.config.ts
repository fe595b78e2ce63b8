// electron-vite: `npm run build` → out/main (main process + engine host worker, ESM),
// out/preload (sandboxed preload, CommonJS), out/renderer (the Svelte renderer: the one build of
// vite.renderer.config.ts, which `npm run build:renderer` makes for the browser shell).
import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import { fileURLToPath } from 'node:url';
import { quietDependencyAnnotations, rendererConfig } from './vite.renderer.config.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  main: {
    // onnxruntime-node, ws, zod … stay in node_modules (native addons cannot be bundled).
    plugins: [externalizeDepsPlugin()],
    build: {
      outDir: here('./out/main'),
      rollupOptions: {
        input: {
          index: here('./src-main/electron/main.ts'),
          // The engine host runs as its own process (utilityProcess.fork(out/main/worker.js)).
          worker: here('./src-main/host/worker.ts'),
        },
        // Shared chunks beside the entries: paths.ts finds resources/ two levels up from its module.
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
        onwarn: quietDependencyAnnotations,
      },
    },
  },
  preload: {
    // A sandboxed preload can only require 'electron': bundle everything else, emit CommonJS.
    build: {
      outDir: here('./out/preload'),
      rollupOptions: {
        input: { index: here('./src-main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
        onwarn: quietDependencyAnnotations,
      },
    },
  },
  // the same renderer build as `npm run build:renderer` (vite.renderer.config.ts), from its HTML entry
  renderer: (() => {
    const r = rendererConfig();
    return { ...r, build: { ...r.build, rollupOptions: { ...r.build.rollupOptions, input: here('./src-renderer/index.html') } } };
  })(),
});
