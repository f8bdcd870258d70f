/**
 * The gateway's `runtimes` (the runtime table with the sandbox's versions) for
 * pickers. Until it answers, and while it cannot, the table itself stands in
 * (no versions), so choosing a language never waits on the network.
 * @module
 */
import { useQuery } from '@tanstack/react-query';
import { RUNTIME_IDS, runtimeList } from '@codecell/protocol';
import type { Runtime } from '@codecell/protocol';
import { useTRPC } from '../api/trpc';

/** How often the list is asked again while some runtime is unavailable (the sandbox may come back). */
export const RUNTIMES_RECHECK_MS = 30_000;

/** The table without versions, every runtime assumed available (the gateway has not said otherwise). */
const TABLE: readonly Runtime[] = runtimeList(new Map(RUNTIME_IDS.map((id) => [id, 'unknown'])));

export function useRuntimes(): readonly Runtime[] {
  const trpc = useTRPC();
  const query = useQuery(
    trpc.runtimes.queryOptions(undefined, {
      staleTime: 60_000,
      retry: false,
      refetchInterval: (q) => (q.state.data?.some((r) => !r.available) ? RUNTIMES_RECHECK_MS : false),
    }),
  );
  return query.data ?? TABLE;
}
