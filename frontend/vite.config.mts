import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * Vite config of the browser IDE. Nothing is loaded from a CDN: Monaco and its
 * editor worker are bundled from node_modules (see src/editor/monaco.ts).
 */
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: [
      // monaco-editor >= 0.56 maps `./*` to `./esm/vs/*.js`; libraries such as
      // y-monaco still import `monaco-editor/esm/vs/editor/editor.api.js`.
      { find: /^monaco-editor\/esm\/vs\/(.*?)(\.js)?$/, replacement: 'monaco-editor/$1' },
    ],
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  preview: { host: '127.0.0.1', port: 5173, strictPort: true },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Monaco's editor core alone is ~2 MB minified; it is one cacheable chunk.
    chunkSizeWarningLimit: 4096,
  },
});
