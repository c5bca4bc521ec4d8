/**
 * `npm run build:components`: <tta-classifier> and <tta-segmenter> as a folder any static site
 * can serve (dist-components/): webtta-components.js (one import registers both), the runtime
 * worker, the tfjs wasm binaries, the shipped models and the frost overlays. The relative base
 * makes every URL in the code resolve against the URL of the file that uses it
 * (import.meta.url), so the folder works wherever it is copied.
 */
import { defineConfig, type Plugin } from 'vite';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** public/corruptions/ (what the worker's frost simulation fetches), without the rest of public/. */
function corruptionOverlays(): Plugin {
  const dir = resolve(__dirname, 'public/corruptions');
  return {
    name: 'webtta-corruption-overlays',
    generateBundle() {
      for (const file of readdirSync(dir)) this.emitFile({ type: 'asset', fileName: `corruptions/${file}`, source: readFileSync(resolve(dir, file)) });
    },
  };
}

export default defineConfig({
  base: './',
  publicDir: false,
  worker: {
    format: 'es',
    // The worker sits at the folder's root: it resolves corruptions/ against its own URL.
    rollupOptions: { output: { entryFileNames: '[name]-[hash].js' } },
  },
  plugins: [corruptionOverlays()],
  build: {
    target: 'es2022',
    outDir: 'dist-components',
    emptyOutDir: true,
    rollupOptions: {
      input: { 'webtta-components': resolve(__dirname, 'src/components/index.ts') },
      // Keep the entry's exports (TTAClassifier, TTASegmenter) for pages that import them.
      preserveEntrySignatures: 'strict',
      output: { entryFileNames: '[name].js' },
    },
  },
});
