import { defineConfig } from 'vite';
import { builtinModules } from 'node:module';

// Main process bundle (.vite/build/main.cjs); native and heavy Node packages stay external and load from node_modules.
export default defineConfig({
  build: {
    outDir: '.vite/build',
    emptyOutDir: false,
    sourcemap: true,
    minify: false,
    lib: { entry: 'electron/main.ts', formats: ['cjs'], fileName: () => 'main.cjs' },
    rollupOptions: {
      external: [
        'electron',
        'onnxruntime-node',
        '@huggingface/tokenizers',
        'ws',
        ...builtinModules,
        ...builtinModules.map((m) => `node:${m}`),
      ],
    },
  },
});
