import { defineConfig } from 'vite';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';

// Cross-origin isolation (COOP/COEP) makes SharedArrayBuffer available, which the
// threaded WASM builds of tfjs and onnxruntime-web need.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: {
    headers: isolationHeaders,
    // Tests and the benchmark read the full data sets from ../shared/data through /@fs/.
    fs: { allow: [resolve(__dirname), resolve(__dirname, '../shared')] },
  },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    // Pages of the app: the demo (index.html) and the benchmark runner (bench.html, opened by `npm run bench`).
    rollupOptions: {
      input: Object.fromEntries(['index', 'bench', 'examples/classifier'].filter((p) => existsSync(resolve(__dirname, `${p}.html`))).map((p) => [p, resolve(__dirname, `${p}.html`)])),
    },
  },
});
