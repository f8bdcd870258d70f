/**
 * @codecell/gateway: the public surface other workspaces may import. Only types:
 * the frontend does `import type { AppRouter } from '@codecell/gateway'` and must
 * not pull any server code into its bundle.
 * @module
 */
export type { AppRouter } from './trpc/router.js';
export type { GatewayHealth } from './trpc/context.js';
