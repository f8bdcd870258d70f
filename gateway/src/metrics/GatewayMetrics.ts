/**
 * The gateway's Prometheus metrics (`GET /metrics`, prom-client): queue
 * depth, runs by how they ended, run latency (submit to end), time to the
 * first output, runs and terminal sessions in progress, open collab and
 * stream sockets, and in fleet mode the live sandbox hosts and their free
 * slots. Gauges are read when scraped. One registry per gateway (tests run
 * several in one process).
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FleetPeers } from '../fleet/GatewayFleet.js';

/** Latency buckets, seconds: TCG-emulated runs are slow, KVM ones fast. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

/** Where the gauges come from. */
export interface GatewayMetricsSources {
  readonly gatewayId: string;
  /** Runs waiting (every gateway's in fleet mode). */
  readonly queueDepth: () => Promise<number>;
  readonly collabConnections: () => number;
  readonly streamSockets: () => number;
  /** Runs (queued or running) and terminal sessions this gateway follows that have not ended. */
  readonly inProgress: () => { runs: number; terminals: number };
  /** Fleet mode: the peers (hosts and their capacity). */
  readonly peers?: () => Promise<FleetPeers>;
}

/** The metrics of one gateway. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #runs: Counter<'status'>;
  readonly #latency: Histogram;
  readonly #firstOutput: Histogram;

  constructor(s: GatewayMetricsSources) {
    const r = this.registry;
    r.setDefaultLabels({ gateway: s.gatewayId });
    collectDefaultMetrics({ register: r, prefix: 'codecell_gateway_' });
    this.#runs = new Counter({ name: 'codecell_runs_total', help: 'Runs this gateway submitted that ended, by status', labelNames: ['status'], registers: [r] });
    this.#latency = new Histogram({ name: 'codecell_run_latency_seconds', help: 'From runCode to the end of the run (queue wait included)', buckets: LATENCY_BUCKETS, registers: [r] });
    this.#firstOutput = new Histogram({ name: 'codecell_run_first_output_seconds', help: 'From runCode to the first stdout or stderr of the run', buckets: LATENCY_BUCKETS, registers: [r] });
    new Gauge({
      name: 'codecell_run_queue_depth',
      help: 'Runs waiting for a sandbox (every gateway of a fleet)',
      registers: [r],
      async collect() {
        this.set(await s.queueDepth().catch(() => -1));
      },
    });
    new Gauge({ name: 'codecell_collab_connections', help: 'Open /collab connections', registers: [r], collect() { this.set(s.collabConnections()); } });
    new Gauge({ name: 'codecell_stream_sockets', help: 'Open /stream sockets', registers: [r], collect() { this.set(s.streamSockets()); } });
    new Gauge({ name: 'codecell_runs_in_progress', help: 'Runs this gateway submitted (or adopted from a gateway gone) that have not ended, queued or running', registers: [r], collect() { this.set(s.inProgress().runs); } });
    new Gauge({ name: 'codecell_terminal_sessions', help: 'Terminal sessions this gateway opened (or adopted) that are still open (a fleet: sum over its gateways)', registers: [r], collect() { this.set(s.inProgress().terminals); } });
    if (s.peers) {
      const peers = s.peers;
      let last: Promise<FleetPeers> | null = null;
      // One read of the peers per scrape, shared by the gauges below.
      const read = (): Promise<FleetPeers> => (last ??= peers().finally(() => setImmediate(() => (last = null))));
      new Gauge({
        name: 'codecell_sandbox_hosts',
        help: 'Live sandbox hosts, by state',
        labelNames: ['state'],
        registers: [r],
        async collect() {
          const { hosts } = await read();
          this.set({ state: 'open' }, hosts.filter((h) => !h.draining).length);
          this.set({ state: 'draining' }, hosts.filter((h) => h.draining).length);
        },
      });
      new Gauge({
        name: 'codecell_sandbox_free_slots',
        help: 'Runs the live, open sandbox hosts could start now',
        registers: [r],
        async collect() {
          this.set((await read()).hosts.filter((h) => !h.draining).reduce((n, h) => n + h.free, 0));
        },
      });
      new Gauge({
        name: 'codecell_redis_up',
        help: '1 when Redis answered the last scrape',
        registers: [r],
        async collect() {
          this.set((await read()).redis.ok ? 1 : 0);
        },
      });
    }
  }

  /** A run this gateway submitted ended. */
  runEnded(o: { status: string; latencyMs: number; firstOutputMs: number | null }): void {
    this.#runs.inc({ status: o.status });
    this.#latency.observe(o.latencyMs / 1000);
    if (o.firstOutputMs !== null) this.#firstOutput.observe(o.firstOutputMs / 1000);
  }

  /** The text exposition format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
