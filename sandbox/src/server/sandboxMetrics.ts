/**
 * The sandbox's Prometheus metrics (`GET /metrics`, behind the sandbox token
 * like every route but `/healthz`): VMs by state, guest memory, runs active
 * and waiting, runs by how they ended, and, as a fleet host, the runs it
 * executes for the fleet and whether it drains. Gauges are read when scraped.
 * @module
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Where the gauges come from. */
export interface SandboxMetricsSources {
  readonly pool: () => { idle: number; starting: number; guestMemoryMb: number };
  readonly attachedVms: () => number;
  readonly runs: () => { active: number; queued: number };
  /** Fleet mode: runs taken from Redis and whether the host drains. */
  readonly fleet?: () => { active: number; draining: boolean } | null;
}

/** The metrics of one sandbox. */
export class SandboxMetrics {
  readonly registry = new Registry();
  readonly #ended: Counter<'status'>;

  constructor(s: SandboxMetricsSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'codecell_sandbox_' });
    this.#ended = new Counter({ name: 'codecell_sandbox_runs_total', help: 'Runs that ended on this sandbox, by status', labelNames: ['status'], registers: [r] });
    new Gauge({
      name: 'codecell_vms',
      help: 'microVMs by state (idle: warm in the pool; starting: booting or restoring; attached: a session holds it)',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const p = s.pool();
        this.set({ state: 'idle' }, p.idle);
        this.set({ state: 'starting' }, p.starting);
        this.set({ state: 'attached' }, s.attachedVms());
      },
    });
    new Gauge({ name: 'codecell_guest_memory_mb', help: 'Guest memory of all VMs, MiB', registers: [r], collect() { this.set(s.pool().guestMemoryMb); } });
    new Gauge({
      name: 'codecell_sandbox_runs',
      help: 'Runs executing (active) and waiting for a slot or VM (queued)',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const x = s.runs();
        this.set({ state: 'active' }, x.active);
        this.set({ state: 'queued' }, x.queued);
      },
    });
    if (s.fleet) {
      const fleet = s.fleet;
      new Gauge({ name: 'codecell_fleet_host_runs', help: 'Runs this host took from Redis and executes', registers: [r], collect() { this.set(fleet()?.active ?? 0); } });
      new Gauge({ name: 'codecell_fleet_host_draining', help: '1 while this host drains (SIGTERM)', registers: [r], collect() { this.set(fleet()?.draining ? 1 : 0); } });
    }
  }

  /** A run ended with `status`. */
  runEnded(status: string): void {
    this.#ended.inc({ status });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
