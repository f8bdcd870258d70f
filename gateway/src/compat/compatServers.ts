/**
 * The compatible APIs on their own ports (PISTON_PORT, JUDGE0_PORT), for
 * clients that expect a Piston or Judge0 server at a URL of its own: the same
 * handlers and protections as on the gateway's port, and only that API.
 * @module
 */
import type { IncomingMessage, Server } from 'node:http';
import { ERROR_CODE_TABLE } from '@codecell/protocol';
import { createGatewayHttpServer } from '../http/httpServer.js';
import type { GatewayHttpServerOptions, UpgradeHandler } from '../http/httpServer.js';
import type { CompatApis } from './CompatApis.js';

/** One API's own server, not listening yet. */
export interface ApiServer {
  readonly scope: 'piston' | 'judge0';
  /** The port to listen on (0 picks one). */
  readonly port: number;
  readonly server: Server;
}

/** What every gateway server shares. */
export type SharedServerOptions = Omit<GatewayHttpServerOptions, 'handle' | 'upgrades' | 'refuse'>;

const pathOf = (req: IncomingMessage): string => new URL(req.url ?? '/', 'http://x').pathname;

/** A server per API whose port is set. */
export function compatServers(o: { shared: SharedServerOptions; compat: CompatApis; ports: { piston?: number | undefined; judge0?: number | undefined } }): ApiServer[] {
  const servers: ApiServer[] = [];
  for (const scope of ['piston', 'judge0'] as const) {
    const port = o.ports[scope];
    if (port === undefined) continue;
    const upgrades = new Map<string, UpgradeHandler>(scope === 'piston' ? [['api', o.compat.upgrade]] : []);
    const server = createGatewayHttpServer({
      ...o.shared,
      upgrades,
      handle: async (req, res) => {
        const path = pathOf(req);
        if (!(await o.compat.handle(req, res, { path, scope }))) o.compat.notFound(res, scope, path);
      },
      refuse: (req, res, refusal) => void o.compat.refuse(res, { path: pathOf(req), scope, refusal, status: ERROR_CODE_TABLE[refusal.code].http }),
    });
    servers.push({ scope, port, server });
  }
  return servers;
}
