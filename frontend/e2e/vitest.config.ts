import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Browser end-to-end tests (`frontend/e2e/*.e2e.test.ts`): Debian Chromium
 * against the real sandbox (QEMU microVMs) and gateway serving the built frontend.
 *
 *   npx vitest run --config frontend/e2e/vitest.config.ts
 */
export default defineConfig({
  test: {
    name: 'e2e',
    root: resolve(import.meta.dirname, '..'),
    include: ['e2e/**/*.e2e.test.ts'],
    // One `vite build` for every file (see globalSetup.ts).
    globalSetup: ['e2e/globalSetup.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 240_000,
  },
});
