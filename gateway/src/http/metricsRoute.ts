/**
 * `GET /metrics`: the gateway's Prometheus metrics. With METRICS_TOKEN set it
 * wants `Authorization: Bearer <METRICS_TOKEN>`; without, it answers only
 * clients on the loopback interface (the socket's own address), and never
 * behind a trusted proxy, where every client would look local.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODE_TABLE } from '@codecell/protocol';
import { secretsEqual } from '@codecell/server-kit';
import type { GatewayMetrics } from '../metrics/GatewayMetrics.js';
import { isLoopbackHost } from './hosts.js';

/** What the route needs. */
export interface MetricsRouteOptions {
  readonly metrics: GatewayMetrics;
  /** METRICS_TOKEN */
  readonly token: string | undefined;
  /** TRUST_PROXY */
  readonly trustProxy: boolean;
}

/** Answers `/metrics`. */
export async function handleMetrics(req: IncomingMessage, res: ServerResponse, o: MetricsRouteOptions): Promise<void> {
  const refuse = (code: 'unauthorized' | 'forbidden' | 'method_not_allowed', message: string): void => {
    res.writeHead(ERROR_CODE_TABLE[code].http, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: { code, message } }));
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse('method_not_allowed', `${req.method ?? ''} is not allowed here; use GET`);
  if (o.token !== undefined) {
    const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (given === undefined || !secretsEqual(given, o.token)) return refuse('unauthorized', 'send Authorization: Bearer <METRICS_TOKEN>');
  } else if (o.trustProxy || !isLoopbackHost(req.socket.remoteAddress ?? '')) {
    return refuse('forbidden', 'metrics are served to loopback clients only; set METRICS_TOKEN to scrape from elsewhere (or behind TRUST_PROXY)');
  }
  const { contentType, body } = await o.metrics.render();
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
}
