import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (fast, no VMs: fakes only) and `vm` (real microVMs
 * under QEMU; KVM where it works, TCG otherwise). VM test files are named
 * `*.vm.test.ts` and run one file at a time: each boots VMs on 2 cores.
 * A third project, `e2e`, drives Debian's Chromium (frontend/e2e).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.vm.test.ts', '**/*.e2e.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'vm',
          include: ['**/*.vm.test.ts'],
          exclude: ['**/node_modules/**'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      // Browser end-to-end tests: Debian Chromium against the real stack.
      'frontend/e2e/vitest.config.ts',
    ],
  },
});
