/**
 * A fleet in one test process, on a real Redis the test started: gateways
 * (each a {@link GatewayFleet} and a {@link RunManager}, as gatewayServices
 * wires them, with the rooms' terminal sessions) and sandbox hosts ({@link FleetHost} with a
 * {@link FakeHostRunner}). Each harness uses its own key prefix.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { runCodeInputSchema, streamMessageSchema } from '@codecell/protocol';
import type { RunCodeInput, RuntimeId, StreamMessage } from '@codecell/protocol';
import { FleetHost } from '@codecell/sandbox/fleet';
import { createLogger, silentLogger } from '@codecell/server-kit';

/** FLEET_DEBUG=1 prints the hosts' and gateways' logs. */
const logger = process.env['FLEET_DEBUG'] ? createLogger('fleet-test', 'debug') : silentLogger;
import { GatewayFleet } from '../fleet/GatewayFleet.js';
import { RoomTerminals } from '../runs/RoomTerminals.js';
import { RunManager } from '../runs/RunManager.js';
import type { FinishedRun } from '../runs/RunManager.js';
import type { RunFile } from '../runs/types.js';
import { FakeHostRunner } from './FakeHostRunner.js';

/** One gateway of the harness. */
export interface TestGateway {
  readonly id: string;
  readonly fleet: GatewayFleet;
  readonly runs: RunManager;
  readonly ended: FinishedRun[];
  /** Files runs this gateway submitted wrote (onRunFile: what would go into the room). */
  readonly files: RunFile[];
  /** The rooms' terminal sessions, as the gateway's RunService uses them. */
  readonly terminals: RoomTerminals;
  /** Terminal sessions this gateway followed to their end (onTerminalEnd: what is charged). */
  readonly terminalsEnded: Array<{ jobId: string; cpuMs: number | null }>;
}

/** One host of the harness. */
export interface TestHost {
  readonly host: FleetHost;
  readonly runner: FakeHostRunner;
}

/** Options of gateways made by {@link FleetHarness.gateway}. */
export interface TestGatewayOptions {
  readonly maxQueued?: number;
  readonly maxQueuedBytes?: number;
  readonly replayBytes?: number;
  /** Longest wait for one Redis step when leaving (tests of Redis away). */
  readonly redisStepMs?: number;
  /** GATEWAY_ID (default gw1, gw2…). */
  readonly gatewayId?: string;
}

/** Gateways and hosts sharing one Redis and prefix. Dispose it after the test. */
export class FleetHarness implements AsyncDisposable {
  readonly prefix = `t${randomBytes(5).toString('hex')}`;
  readonly gateways: TestGateway[] = [];
  readonly hosts: TestHost[] = [];

  constructor(readonly redisUrl: string) {}

  gateway(o: TestGatewayOptions = {}): TestGateway {
    const id = o.gatewayId ?? `gw${this.gateways.length + 1}`;
    const fleet = new GatewayFleet({
      redisUrl: this.redisUrl,
      prefix: this.prefix,
      gatewayId: id,
      logger,
      maxQueued: o.maxQueued ?? 50,
      maxQueuedBytes: o.maxQueuedBytes ?? 8 * 1024 * 1024,
      replayBytes: o.replayBytes ?? 1024 * 1024,
      retentionMs: 60_000,
      ...(o.redisStepMs === undefined ? {} : { redisStepMs: o.redisStepMs }),
      record: () => ({ url: `http://${id}.test`, store: 'sqlite', collabConnections: 0, streamSockets: 0 }),
    });
    const ended: FinishedRun[] = [];
    const files: RunFile[] = [];
    const terminalsEnded: Array<{ jobId: string; cpuMs: number | null }> = [];
    const runs = new RunManager({
      backend: fleet.runs,
      logger,
      defaults: { timeoutMs: 5000, memoryMb: 128, vcpus: 1 },
      onRunEnd: (r) => ended.push(r),
      onRunFile: (f) => files.push(f),
      onTerminalEnd: (t) => terminalsEnded.push({ jobId: t.jobId, cpuMs: t.cpuMs }),
    });
    fleet.adoptOrphans(runs);
    const gw = { id, fleet, runs, ended, files, terminals: new RoomTerminals({ runs, logger }), terminalsEnded };
    this.gateways.push(gw);
    return gw;
  }

  async host(
    o: { capacity?: number; auto?: { delayMs: number }; hostId?: string; runtimes?: Partial<Record<RuntimeId, string>>; redisStepMs?: number; refuseTerminals?: Error; sessionTtlMs?: number; lockMs?: number } = {},
  ): Promise<TestHost> {
    const runner = new FakeHostRunner({
      capacity: o.capacity ?? 1,
      ...(o.auto ? { auto: o.auto } : {}),
      ...(o.runtimes ? { runtimes: o.runtimes } : {}),
      ...(o.refuseTerminals ? { refuseTerminals: o.refuseTerminals } : {}),
    });
    const host = await FleetHost.start({
      redisUrl: this.redisUrl,
      prefix: this.prefix,
      hostId: o.hostId ?? `host${this.hosts.length + 1}`,
      runner,
      logger,
      sessionTtlMs: o.sessionTtlMs ?? 60_000,
      ...(o.lockMs === undefined ? {} : { lockMs: o.lockMs }),
      ...(o.redisStepMs === undefined ? {} : { redisStepMs: o.redisStepMs }),
    });
    const h = { host, runner };
    this.hosts.push(h);
    return h;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const g of this.gateways) await g.runs.dispose();
    await Promise.all(this.gateways.map((g) => g.fleet.dispose()));
    await Promise.all(this.hosts.map((h) => h.host.dispose()));
  }
}

/** A runCode input with main.py = `source`. */
export function runInput(source: string, extra: Partial<RunCodeInput> = {}) {
  return runCodeInputSchema.parse({ files: [{ path: 'main.py', content: source }], ...extra });
}

/** Subscribes and gathers replay + live messages (validated) until `end`. */
export async function watch(runs: RunManager, jobId: string): Promise<{ replay: StreamMessage[]; live: StreamMessage[]; ended: Promise<StreamMessage[]> }> {
  const live: StreamMessage[] = [];
  let done: (all: StreamMessage[]) => void = () => undefined;
  const ended = new Promise<StreamMessage[]>((r) => (done = r));
  let replay: StreamMessage[] = [];
  const sub = await runs.subscribe(jobId, {
    send: (m) => {
      live.push(streamMessageSchema.parse(m));
      if (m.type === 'end') done([...replay, ...live]);
    },
  });
  if (!sub) throw new Error(`no run ${jobId}`);
  replay = sub.replay.map((m) => streamMessageSchema.parse(m));
  if (replay.at(-1)?.type === 'end') done(replay);
  return { replay, live, ended };
}

/** Waits until `check` holds (polling every 20 ms). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The stdout of messages, joined. */
export function stdoutOf(messages: readonly StreamMessage[]): string {
  return messages.map((m) => (m.type === 'event' && m.event.type === 'stdout' ? m.event.data : '')).join('');
}
