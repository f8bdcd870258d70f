/**
 * The stdin/resize/kill channel of fleet mode: each run has a control stream in
 * Redis that its host follows from the first entry, so stdin typed (or a
 * stop pressed) on any gateway, even before the run started, reaches the run
 * in order on whichever host runs it. The checks (finished, closed, too much
 * waiting) and the append are one Lua script.
 * @module
 */
import type { Redis } from 'ioredis';
import { CodeCellError, FLEET_SCRIPTS } from '@codecell/protocol';
import type { ControlEntry, FleetKeys, StdinRequest, TerminalSize } from '@codecell/protocol';
import { evalScript } from '@codecell/redis-kit';
import { randomId } from '@codecell/server-kit';
import { MAX_PENDING_STDIN_BYTES } from '../runs/ports.js';
import type { RunControlPort } from '../runs/ports.js';
import { UNFINISHED_RUN_TTL_MS } from './RedisRunLog.js';

/** Options of {@link RedisRunControl}. */
export interface RedisRunControlOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  /** @default MAX_PENDING_STDIN_BYTES */
  readonly maxPendingStdinBytes?: number;
}

/** Sends stdin and kills through Redis. */
export class RedisRunControl implements RunControlPort {
  readonly #o: RedisRunControlOptions;

  constructor(options: RedisRunControlOptions) {
    this.#o = options;
  }

  async sendStdin(jobId: string, chunk: StdinRequest, _signal?: AbortSignal): Promise<void> {
    const eof = chunk.eof ?? false;
    const entry: ControlEntry = { op: 'stdin', data: chunk.data, eof };
    const max = this.#o.maxPendingStdinBytes ?? MAX_PENDING_STDIN_BYTES;
    // The id makes the script idempotent: resent after Redis came back, the chunk is not queued twice.
    const chunkId = randomId(9);
    const r = await this.#run(FLEET_SCRIPTS.sendStdin, jobId, [JSON.stringify(entry), Buffer.byteLength(chunk.data), eof ? '1' : '0', max, UNFINISHED_RUN_TTL_MS, chunkId]);
    if (r === 'ok') return;
    if (r.startsWith('payload_too_large:')) {
      throw new CodeCellError('payload_too_large', `run ${jobId} already has ${r.slice('payload_too_large:'.length)} bytes of stdin waiting; the limit is ${max}`);
    }
    throw this.#refusal(jobId, r);
  }

  async resize(jobId: string, size: TerminalSize, _signal?: AbortSignal): Promise<void> {
    const entry: ControlEntry = { op: 'resize', cols: size.cols, rows: size.rows };
    const r = await this.#run(FLEET_SCRIPTS.sendResize, jobId, [JSON.stringify(entry), UNFINISHED_RUN_TTL_MS]);
    if (r === 'not_a_terminal') throw new CodeCellError('not_a_terminal', `run ${jobId} has no terminal to resize; start it with "tty": true (or {cols, rows})`);
    if (r !== 'ok') throw this.#refusal(jobId, r);
  }

  async kill(jobId: string, _signal?: AbortSignal): Promise<void> {
    const entry: ControlEntry = { op: 'kill' };
    const r = await this.#run(FLEET_SCRIPTS.sendKill, jobId, [JSON.stringify(entry), UNFINISHED_RUN_TTL_MS]);
    // A run that finished meanwhile needs no stopping.
    if (r === 'ok' || r === 'run_finished') return;
    throw this.#refusal(jobId, r);
  }

  async #run(script: string, jobId: string, args: readonly (string | number)[]): Promise<string> {
    const { redis, keys } = this.#o;
    return String(await evalScript(redis, { script, keys: [keys.runMeta(jobId), keys.runControl(jobId), keys.runStdinIds(jobId)], args }));
  }

  #refusal(jobId: string, r: string): CodeCellError {
    if (r === 'not_found') return new CodeCellError('not_found', `no run ${jobId}: it never existed or finished a while ago`);
    if (r === 'run_finished') return new CodeCellError('run_finished', `run ${jobId} has finished; stdin can only be sent while it runs`);
    if (r === 'stdin_closed') return new CodeCellError('stdin_closed', `stdin of run ${jobId} was closed (eof); start a new run to send more`);
    return new CodeCellError('internal_error', `unexpected answer from Redis: ${r}`);
  }
}
