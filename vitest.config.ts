import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (fast, no VMs: fakes only) and `vm` (real microVMs
 * under QEMU; KVM where it works, TCG otherwise). VM test files are named
 * `*.vm.test.ts` and run one file at a time: each boots VMs on 2 cores.
 * A third project, `e2e`, drives Debian's Chromium (frontend/e2e).
 *
 * Unit files mostly wait (on sockets, child servers, timers), so they run one
 * more at a time than there are cores: vitest's default (cores - 1) ran them
 * one by one on a 2-core machine (212 s; 117 s with three at once).
 */
const UNIT_WORKERS = Math.max(3, availableParallelism() + 1);

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.vm.test.ts', '**/*.e2e.test.ts'],
          testTimeout: 20_000,
          maxWorkers: UNIT_WORKERS,
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
