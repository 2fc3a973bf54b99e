import type { ForgeConfig } from '@electron-forge/shared-types';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { FuseV1Options, FuseVersion } from '@electron/fuses';
import { FUSES } from './electron/security.js';

// `npm start` (electron-forge start): main and preload built by Vite, the renderer served by Vite in development.
// Packaged apps get the fuses of electron/security.ts (no ELECTRON_RUN_AS_NODE, NODE_OPTIONS or --inspect; cookies
// encrypted; the app only from its asar, whose integrity is checked): docs/security.md.
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
    new FusesPlugin({
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: FUSES.runAsNode,
      [FuseV1Options.EnableCookieEncryption]: FUSES.enableCookieEncryption,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: FUSES.enableNodeOptionsEnvironmentVariable,
      [FuseV1Options.EnableNodeCliInspectArguments]: FUSES.enableNodeCliInspectArguments,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: FUSES.enableEmbeddedAsarIntegrityValidation,
      [FuseV1Options.OnlyLoadAppFromAsar]: FUSES.onlyLoadAppFromAsar,
    }),
  ],
};
export default config;
