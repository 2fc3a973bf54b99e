import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The renderer bundle, shared by the Electron window and `dlens serve`. React's JSX is compiled by esbuild directly.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: fileURLToPath(new URL('../.vite/renderer/main_window', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
});
