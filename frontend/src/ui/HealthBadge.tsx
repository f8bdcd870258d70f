/**
 * The gateway and sandbox status in the header, polled from `health`. An
 * unreachable gateway shows here before anyone presses Run.
 * @module
 */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../api/trpc';
import { API_BASE } from '../api/apiUrl';
import { toUserError } from '../api/userError';

/** How often the header re-checks the gateway. */
export const HEALTH_POLL_MS = 15_000;

export function HealthBadge() {
  const trpc = useTRPC();
  const health = useQuery(
    trpc.health.queryOptions(undefined, { refetchInterval: HEALTH_POLL_MS, retry: false, refetchOnWindowFocus: true }),
  );

  let tone: 'ok' | 'warn' | 'error' | 'idle' = 'idle';
  let label = 'Connecting…';
  let title = `Gateway: ${API_BASE}`;
  if (health.isError) {
    tone = 'error';
    label = 'Gateway unreachable';
    title = toUserError(health.error, API_BASE).message;
  } else if (health.data) {
    const { ok, sandbox, message, fleet } = health.data;
    if (ok && fleet) {
      const open = fleet.hosts.filter((h) => !h.draining);
      tone = 'ok';
      label = `${open.length} sandbox host${open.length === 1 ? '' : 's'} ready`;
      title = `${open.reduce((n, h) => n + h.free, 0)} free run slot(s) · ${fleet.gateways.length} gateway(s) · ${health.data.gatewayId}`;
    } else if (ok && sandbox) {
      tone = sandbox.ready ? 'ok' : 'warn';
      label = sandbox.ready ? 'Sandbox ready' : 'Sandbox warming up';
      title = `${sandbox.driver} · ${sandbox.acceleration} · ${sandbox.pool.idle} idle VM(s) · ${sandbox.runs.active} running`;
    } else {
      tone = 'error';
      label = 'Sandbox unavailable';
      title = message ?? 'The sandbox did not answer the gateway.';
    }
  }
  return (
    <span className={`health health-${tone}`} title={title} data-testid="health" role="status">
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}
