/**
 * A whole gateway on port 0 in front of a scripted fake sandbox, for unit
 * tests; everything it starts is closed by the returned `cleanup` (call it in
 * `afterEach`).
 * @module
 */
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../config.js';
import { createGateway } from '../server.js';
import type { Gateway } from '../server.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from './fakeSandboxServer.js';
import type { FakeHandler, FakeSandboxServer } from './fakeSandboxServer.js';

/** A sandbox whose runs exit at once with status ok. */
export const quickRuns: FakeHandler = (req, res) => {
  if (req.path !== '/run') return void res.writeHead(202).end('{}');
  startNdjson(res, 'sbx');
  writeEvent(res, { type: 'start', jobId: 'sbx', vmId: 'vm', at: 1 });
  writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 1, maxRssKb: 1 });
  res.end();
};

/** Starts gateways and fakes and closes them all, newest first. */
export class TestGateways {
  readonly #cleanups: Array<() => unknown> = [];

  /** A gateway with an in-memory database (unless `env` says otherwise) in front of a fake sandbox. */
  async start(o: { env?: Record<string, string>; handler?: FakeHandler } = {}): Promise<{ gw: Gateway; fake: FakeSandboxServer }> {
    const fake = await startFakeSandboxServer(o.handler ?? quickRuns);
    this.#cleanups.push(() => fake.close());
    const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', ...o.env }), silentLogger);
    this.#cleanups.push(() => gw.close());
    return { gw, fake };
  }

  /** Closes `fn`'s resource with the rest. */
  defer(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  /** Closes everything started so far. */
  async cleanup(): Promise<void> {
    for (const c of this.#cleanups.splice(0).reverse()) await c();
  }
}
