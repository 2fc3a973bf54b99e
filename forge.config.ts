import type { ForgeConfig } from '@electron-forge/shared-types';
import { VitePlugin } from '@electron-forge/plugin-vite';

// `npm start` (electron-forge start): main and preload built by Vite, the renderer served by Vite in development.
const config: ForgeConfig = {
  packagerConfig: { asar: { unpack: '**/{*.node,*.onnx,assets/models/**}' }, name: 'dlens' },
  rebuildConfig: {},
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main.ts', config: 'electron/vite.main.config.ts', target: 'main' },
        { entry: 'electron/preload.ts', config: 'electron/vite.preload.config.ts', target: 'preload' },
      ],
      renderer: [{ name: 'main_window', config: 'renderer/vite.config.ts' }],
    }),
  ],
};
export default config;
