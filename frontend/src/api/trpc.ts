/**
 * The tRPC client of the gateway. Only the router's *type* comes from the
 * gateway workspace; no server code reaches the bundle.
 * @module
 */
import { createTRPCClient, httpLink } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { AppRouter } from '@codecell/gateway';
import { API_BASE } from './apiUrl';

/** The vanilla client, for code outside React (the run controller). */
export type GatewayClient = TRPCClient<AppRouter>;

/** Creates a client for the gateway at `apiBase` (tRPC under `/trpc`). */
export function createGatewayClient(apiBase: string = API_BASE): GatewayClient {
  // httpLink, not httpBatchLink: stdin and stop must not wait behind a batch.
  // credentials: the session cookie also goes to a gateway on another port (the Vite dev server).
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${apiBase}/trpc`, fetch: (input, init) => fetch(input, { ...init, credentials: 'include' }) })],
  });
}

/** React bindings: `useTRPC()` gives query/mutation options for TanStack Query. */
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
