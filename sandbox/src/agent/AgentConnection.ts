/**
 * Host side of one guest agent: frames over the VM's channel, readiness,
 * reseeding after a snapshot restore, and one program run at a time, beside
 * which terminal sessions (a shell, a REPL) may run (guest SPEC 3.11).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  AGENT_PROTOCOL_VERSION,
  CodeCellError,
  FrameType,
  MAX_GUEST_FRAME_BYTES,
  agentErrorFrameSchema,
  exitFrameSchema,
  fileFrameSchema,
  readyFrameSchema,
  stageFrameSchema,
} from '@codecell/protocol';
import type { ExecFrame, ExitFrame, FileFrame, ReadyFrame, StageName } from '@codecell/protocol';
import { FrameDecoder, encodeDataFrame, encodeJsonFrame } from './codec.js';
import type { Frame } from './codec.js';
import { AsyncQueue } from '../util/AsyncQueue.js';

/** How often `waitReady` pings an agent that has not answered yet. */
export const READY_PING_INTERVAL_MS = 50;
/** Queued output above which the channel is paused (the guest then blocks on write). */
export const OUTPUT_HIGH_WATER_BYTES = 1024 * 1024;

/** What a run yields, in guest order; always ends with exactly one `exit`. */
export type AgentRunEvent =
  | { readonly type: 'stage'; readonly name: StageName; readonly warm: boolean; readonly cached: boolean }
  | { readonly type: 'stdout' | 'stderr'; readonly data: Buffer }
  /** A file the run wrote; `content` is null when it is truncated (too large to bring back). */
  | { readonly type: 'file'; readonly file: FileFrame; readonly content: Buffer | null }
  | { readonly type: 'exit'; readonly exit: ExitFrame };

/** A file whose content is still arriving in content frames. */
interface IncomingFile {
  readonly file: FileFrame;
  readonly chunks: Buffer[];
  /** Bytes still to come. */
  left: number;
  /** Over the run's cap: its bytes are skipped and it is reported as truncated. */
  readonly skip: boolean;
}

/** One program running in the guest. */
export interface AgentRun {
  readonly runId: number;
  readonly events: AsyncQueue<AgentRunEvent>;
  sendStdin(data: Buffer): void;
  closeStdin(): void;
  signal(signal: 'SIGINT' | 'SIGTERM' | 'SIGKILL'): void;
  /** A TTY run's new size (SIGWINCH in the guest). */
  resize(size: { readonly cols: number; readonly rows: number }): void;
}

/** A run the agent was asked to start and has not ended. */
interface ActiveRun {
  readonly runId: number;
  readonly queue: AsyncQueue<AgentRunEvent>;
  readonly terminal: boolean;
  /** The run's cap on one file's content (issue 11). */
  readonly maxFileBytes: number;
  /** A file whose content frames are arriving. */
  file: IncomingFile | null;
}

/** `seq`: the waiter takes only the ready that answers the frame it sent with that seq. */
type Waiter = { resolve: (f: ReadyFrame) => void; reject: (e: unknown) => void; seq?: number };

export class AgentConnection {
  private readonly decoder = new FrameDecoder(MAX_GUEST_FRAME_BYTES);
  private readyWaiters: Waiter[] = [];
  /** Sequence numbers of reseed and prime frames (pings use 0). */
  private nextSeq = 1;
  private readonly runs = new Map<number, ActiveRun>();
  private nextRunId = 1;
  private closedError: Error | undefined;
  /** Last `ready`/`pong` the agent sent. */
  lastReady: ReadyFrame | undefined;

  constructor(private readonly channel: Duplex) {
    channel.on('data', (chunk: Buffer) => this.handleData(chunk));
    channel.on('error', (err) => this.handleClose(err));
    channel.on('close', () => this.handleClose(new Error('channel closed')));
  }

  /** True once the channel has closed or broken. */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Resolves at the agent's first `ready`/`pong`; pings until then. */
  async waitReady(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ReadyFrame> {
    const ping = setInterval(() => this.write(encodeJsonFrame(FrameType.ping, { seq: 0 })), READY_PING_INTERVAL_MS);
    try {
      this.write(encodeJsonFrame(FrameType.ping, { seq: 0 }));
      return await this.nextReady(opts);
    } finally {
      clearInterval(ping);
    }
  }

  /**
   * After a snapshot restore: fresh entropy and wall clock, then the `ready`
   * that answers this reseed (not one sent before it, SPEC 2.2).
   */
  async reseed(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ReadyFrame> {
    const seq = this.nextSeq++;
    const ready = this.nextReady({ ...opts, seq });
    this.write(encodeJsonFrame(FrameType.reseed, { seq, entropyB64: randomBytes(64).toString('base64'), nowMs: Date.now() }));
    return ready;
  }

  /**
   * Before a VM becomes a snapshot template: the agent loads what every clone
   * should have, then answers this prime with `ready` (late pongs to the boot
   * pings do not count, SPEC 2.4).
   */
  async prime(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ReadyFrame> {
    const seq = this.nextSeq++;
    const ready = this.nextReady({ ...opts, seq });
    this.write(encodeJsonFrame(FrameType.prime, { seq }));
    return ready;
  }

  /** Starts a program (the previous program run must have ended) or, with `terminal`, a terminal session beside it. */
  exec(req: Omit<ExecFrame, 'runId'>): AgentRun {
    if (this.closedError) throw new CodeCellError('vm_crashed', `the VM's agent channel is closed: ${this.closedError.message}`);
    const terminal = req.terminal === true;
    if (!terminal && [...this.runs.values()].some((r) => !r.terminal)) throw new CodeCellError('internal_error', 'a run is already active on this VM');
    const runId = this.nextRunId++;
    const queue = new AsyncQueue<AgentRunEvent>(
      (e) => (e.type === 'stdout' || e.type === 'stderr' ? e.data.length : e.type === 'file' ? (e.content?.length ?? 0) : 0),
      (size) => {
        if (size < OUTPUT_HIGH_WATER_BYTES / 2 && this.channel.isPaused()) this.channel.resume();
      },
    );
    this.runs.set(runId, { runId, queue, terminal, maxFileBytes: req.outputFiles?.maxFileBytes ?? 0, file: null });
    this.write(encodeJsonFrame(FrameType.exec, { ...req, runId }));
    return {
      runId,
      events: queue,
      sendStdin: (data) => {
        if (data.length > 0) this.write(encodeDataFrame(FrameType.stdin, runId, data));
      },
      closeStdin: () => this.write(encodeDataFrame(FrameType.stdin, runId, Buffer.alloc(0))),
      signal: (signal) => this.write(encodeJsonFrame(FrameType.signal, { runId, signal })),
      resize: ({ cols, rows }) => this.write(encodeJsonFrame(FrameType.resize, { runId, cols, rows })),
    };
  }

  /** Stops listening; the channel itself belongs to the VM handle. */
  dispose(): void {
    this.handleClose(new Error('agent connection disposed'));
    this.channel.removeAllListeners('data');
  }

  private nextReady(opts: { timeoutMs: number; signal?: AbortSignal; seq?: number }): Promise<ReadyFrame> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<ReadyFrame>((resolve, reject) => {
      const waiter: Waiter = {
        ...(opts.seq === undefined ? {} : { seq: opts.seq }),
        resolve: (f) => {
          cleanup();
          resolve(f);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const timer = setTimeout(
        () => waiter.reject(new CodeCellError('vm_boot_failed', `guest agent not ready after ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      const onAbort = (): void => waiter.reject(opts.signal?.reason ?? new Error('aborted'));
      const cleanup = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.readyWaiters.push(waiter);
    });
  }

  private write(buf: Buffer): void {
    if (!this.closedError && this.channel.writable) this.channel.write(buf);
  }

  private handleData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.handleClose(err instanceof Error ? err : new Error(String(err)));
      this.channel.destroy();
      return;
    }
    for (const frame of frames) this.handleFrame(frame);
  }

  private handleFrame(frame: Frame): void {
    if (frame.kind === 'data') {
      const cur = this.runs.get(frame.runId);
      if (!cur) return; // late output of an ended run
      if (frame.type === FrameType.content) return this.fileData(cur, frame.data);
      cur.queue.push({ type: frame.type === FrameType.stdout ? 'stdout' : 'stderr', data: frame.data });
      if (cur.queue.queuedSize > OUTPUT_HIGH_WATER_BYTES) this.channel.pause();
      return;
    }
    const body = safeJson(frame.body);
    switch (frame.type) {
      case FrameType.file: {
        const file = fileFrameSchema.safeParse(body);
        const cur = file.success ? this.runs.get(file.data.runId) : undefined;
        if (!file.success || !cur) return;
        const f = file.data;
        // A guest that claims more than the cap gets its bytes skipped, not buffered.
        const skip = !f.truncated && f.size > cur.maxFileBytes;
        if (f.truncated || f.size === 0) cur.queue.push({ type: 'file', file: f, content: f.truncated ? null : Buffer.alloc(0) });
        else cur.file = { file: f, chunks: [], left: f.size, skip };
        return;
      }
      case FrameType.ready:
      case FrameType.pong: {
        const ready = readyFrameSchema.safeParse(body);
        if (!ready.success) return;
        this.lastReady = ready.data;
        if (ready.data.version !== AGENT_PROTOCOL_VERSION) {
          // An image built from other sources than this sandbox: its frames would be misread.
          const err = new CodeCellError(
            'vm_boot_failed',
            `the guest agent speaks protocol version ${ready.data.version}, this sandbox ${AGENT_PROTOCOL_VERSION}: rebuild the guest image (npm run setup)`,
          );
          for (const w of [...this.readyWaiters]) w.reject(err);
          return;
        }
        for (const w of [...this.readyWaiters]) if (w.seq === undefined || w.seq === ready.data.seq) w.resolve(ready.data);
        return;
      }
      case FrameType.stage: {
        const stage = stageFrameSchema.safeParse(body);
        const cur = stage.success ? this.runs.get(stage.data.runId) : undefined;
        if (!stage.success || !cur) return;
        cur.queue.push({ type: 'stage', name: stage.data.name, warm: stage.data.warm, cached: stage.data.cached ?? false });
        return;
      }
      case FrameType.exit: {
        const exit = exitFrameSchema.safeParse(body);
        const cur = exit.success ? this.runs.get(exit.data.runId) : undefined;
        if (!exit.success || !cur) return;
        this.runs.delete(cur.runId);
        cur.queue.push({ type: 'exit', exit: exit.data });
        cur.queue.end();
        return;
      }
      case FrameType.error: {
        const err = agentErrorFrameSchema.safeParse(body);
        if (!err.success) return;
        // An error about no run in particular (a frame the agent could not read) fails every run: which one it meant is unknown.
        const failed = err.data.runId === null ? [...this.runs.values()] : [this.runs.get(err.data.runId)].filter((r) => r !== undefined);
        for (const cur of failed) {
          this.runs.delete(cur.runId);
          cur.queue.fail(new CodeCellError('internal_error', `guest agent: ${err.data.message}`));
        }
        return;
      }
      default:
        return;
    }
  }

  /** Collects a file's content; pushes the file once all of it arrived. */
  private fileData(cur: ActiveRun, data: Buffer): void {
    const f = cur.file;
    if (f === null) return;
    const part = data.subarray(0, f.left);
    f.left -= part.length;
    if (!f.skip) f.chunks.push(part);
    if (f.left > 0) return;
    cur.file = null;
    cur.queue.push(f.skip ? { type: 'file', file: { ...f.file, truncated: true }, content: null } : { type: 'file', file: f.file, content: Buffer.concat(f.chunks) });
    if (cur.queue.queuedSize > OUTPUT_HIGH_WATER_BYTES) this.channel.pause();
  }

  private handleClose(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const w of [...this.readyWaiters]) w.reject(new CodeCellError('vm_crashed', `the VM went away: ${err.message}`));
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const cur of runs) cur.queue.fail(new CodeCellError('vm_crashed', `the VM went away during the run: ${err.message}`));
  }
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
