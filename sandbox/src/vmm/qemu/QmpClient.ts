/**
 * A minimal QMP (QEMU Machine Protocol) client: greeting, capabilities
 * negotiation, one command at a time, events ignored unless asked for.
 * @module
 */
import type { Socket } from 'node:net';

/** Default deadline of one QMP command. */
export const QMP_COMMAND_TIMEOUT_MS = 10_000;
/** Default deadline for QEMU's greeting after the socket connects. */
export const QMP_GREETING_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  command: string;
}

export class QmpError extends Error {
  override readonly name = 'QmpError';
}

export class QmpClient {
  private buffer = '';
  private readonly queue: Pending[] = [];
  private greeted: Promise<void>;
  private closed: Error | undefined;
  private readonly greetingTimeoutMs: number;

  constructor(
    private readonly socket: Socket,
    o: { greetingTimeoutMs?: number } = {},
  ) {
    this.greetingTimeoutMs = o.greetingTimeoutMs ?? QMP_GREETING_TIMEOUT_MS;
    let onGreeting: () => void = () => undefined;
    let onNoGreeting: (e: Error) => void = () => undefined;
    // Settles either way: a QEMU that dies before greeting must not leave init() waiting.
    this.greeted = new Promise((resolve, reject) => {
      onGreeting = resolve;
      onNoGreeting = reject;
    });
    this.greeted.catch(() => undefined); // awaited by init(); never an unhandled rejection
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line) this.handleLine(line, onGreeting);
      }
    });
    const fail = (err: Error): void => {
      this.closed ??= err;
      onNoGreeting(new QmpError(`QMP greeting never came: ${err.message}`));
      for (const p of this.queue.splice(0)) {
        clearTimeout(p.timer);
        p.reject(new QmpError(`QMP ${p.command} failed: ${err.message}`));
      }
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('QMP socket closed')));
  }

  /** Waits for the greeting and negotiates capabilities. */
  async init(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.socket.destroy();
        reject(new QmpError(`no QMP greeting in ${this.greetingTimeoutMs} ms`));
      }, this.greetingTimeoutMs);
    });
    try {
      await Promise.race([this.greeted, late]);
    } finally {
      clearTimeout(timer);
    }
    await this.execute('qmp_capabilities');
  }

  /** Runs one command and resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = QMP_COMMAND_TIMEOUT_MS): Promise<T> {
    if (this.closed) return Promise.reject(new QmpError(`QMP ${command} failed: ${this.closed.message}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.queue.findIndex((p) => p.timer === timer);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new QmpError(`QMP ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.queue.push({ resolve: resolve as (v: unknown) => void, reject, timer, command });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private handleLine(line: string, onGreeting: () => void): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if ('QMP' in msg) return onGreeting();
    if ('event' in msg) return;
    const p = this.queue.shift();
    if (!p) return;
    clearTimeout(p.timer);
    if ('error' in msg) {
      const e = msg['error'] as { desc?: string } | undefined;
      p.reject(new QmpError(`QMP ${p.command} failed: ${e?.desc ?? line}`));
    } else {
      p.resolve(msg['return']);
    }
  }
}
