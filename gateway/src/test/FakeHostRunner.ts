/**
 * A fake sandbox for fleet hosts in unit tests ({@link HostRunner} of
 * `@codecell/sandbox/fleet`): each run is driven by the test, or, in `auto`
 * mode, starts, prints its source and exits ok after a delay. Terminal
 * sessions are driven by the test. Stdin, resizes
 * and kills are recorded (a resize of a pipe run is refused, as the sandbox does); a kill ends the run `killed`, as the real sandbox does.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { RunEvent, RunRequest, RuntimeId, TerminalRequest, TerminalSize } from '@codecell/protocol';
import type { HostRun, HostRunner } from '@codecell/sandbox/fleet';

/** One run the fake host got. */
export class FakeHostRun implements HostRun {
  readonly stdin: Array<{ data: string; eof: boolean }> = [];
  readonly resizes: TerminalSize[] = [];
  kills = 0;
  #buffer: RunEvent[] = [];
  #ended = false;
  #stdinClosed: boolean;
  #wake: (() => void) | null = null;
  readonly events: AsyncIterable<RunEvent>;

  readonly onEnd: () => void;
  /** Set for a terminal session (its `request` is then a TTY run of no source). */
  readonly terminal: TerminalRequest | null;

  constructor(
    readonly jobId: string,
    readonly request: RunRequest,
    o: { readonly onEnd: () => void; readonly terminal?: TerminalRequest },
  ) {
    this.onEnd = o.onEnd;
    this.terminal = o.terminal ?? null;
    this.#stdinClosed = request.stdinOpen !== true && request.stdin !== undefined;
    this.events = this.#iterate();
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(...events: RunEvent[]): void {
    if (this.#ended) return;
    this.#buffer.push(...events);
    this.#wake?.();
  }

  start(): void {
    this.push({ type: 'start', jobId: this.jobId, vmId: 'vm-fake', at: Date.now() });
  }

  exit(status: Extract<RunEvent, { type: 'exit' }>['status'] = 'ok', code: number | null = 0): void {
    this.push({ type: 'exit', code, signal: status === 'killed' ? 'SIGKILL' : null, status, cpuMs: 5, wallMs: 7, maxRssKb: 9 });
    this.#ended = true;
    this.onEnd();
    this.#wake?.();
  }

  sendStdin(data: string, eof: boolean): void {
    if (this.#ended) throw new CodeCellError('run_finished', 'finished');
    if (this.#stdinClosed) throw new CodeCellError('stdin_closed', 'closed');
    if (eof) this.#stdinClosed = true;
    this.stdin.push({ data, eof });
  }

  resize(size: TerminalSize): void {
    if (this.#ended) throw new CodeCellError('run_finished', 'finished');
    if (this.request.tty === undefined || this.request.tty === false) throw new CodeCellError('not_a_terminal', 'no terminal');
    this.resizes.push(size);
  }

  kill(): void {
    if (this.#ended) throw new CodeCellError('run_finished', 'finished');
    this.kills++;
    this.exit('killed', null);
  }

  async *#iterate(): AsyncGenerator<RunEvent> {
    for (;;) {
      const ev = this.#buffer.shift();
      if (ev) {
        yield ev;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

/** The fake host's runner. */
export class FakeHostRunner implements HostRunner {
  readonly runs: FakeHostRun[] = [];
  readonly terminals: FakeHostRun[] = [];
  #active = 0;
  #n = 0;

  /** `auto`: each run starts, prints the entry file's content and exits ok after `delayMs`. `runtimes`: its image's (default Python 3.11.2). */
  constructor(
    readonly o: {
      readonly capacity: number;
      readonly auto?: { readonly delayMs: number };
      readonly runtimes?: Partial<Record<RuntimeId, string>>;
      /** Thrown by startTerminal (the sandbox refusing a session). */
      readonly refuseTerminals?: Error;
    },
  ) {}

  runtimes(): Partial<Record<RuntimeId, string>> {
    return this.o.runtimes ?? { py: '3.11.2' };
  }

  /** A terminal session: recorded in {@link terminals}, driven by the test; it holds no run slot. */
  startTerminal(request: TerminalRequest): HostRun {
    if (this.o.refuseTerminals) throw this.o.refuseTerminals;
    const asRun: RunRequest = { language: 'sh', source: '', tty: request.size ?? true, stdinOpen: true, sessionId: request.sessionId };
    const run = new FakeHostRun(`faketerm${++this.#n}`, asRun, { onEnd: () => undefined, terminal: request });
    this.terminals.push(run);
    return run;
  }

  /** The `n`-th terminal session (0-based), once it arrived. */
  async nthTerminal(n: number, timeoutMs = 5_000): Promise<FakeHostRun> {
    const deadline = Date.now() + timeoutMs;
    while (!this.terminals[n]) {
      if (Date.now() > deadline) throw new Error(`terminal session ${n} never reached this host (it got ${this.terminals.length})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.terminals[n];
  }

  start(request: RunRequest): HostRun {
    this.#active++;
    const run = new FakeHostRun(`fake${++this.#n}`, request, { onEnd: () => this.#active-- });
    this.runs.push(run);
    if (this.o.auto) {
      run.start();
      const out = request.source;
      setTimeout(() => {
        run.push({ type: 'stdout', data: out });
        run.exit('ok');
      }, this.o.auto.delayMs);
    }
    return run;
  }

  stats() {
    return { capacity: this.o.capacity, active: this.#active, sessions: 0, idleVms: 1, startingVms: 0, guestMemoryMb: 0, maxGuestMemoryMb: 1024, ready: true };
  }

  /** The `n`-th run (0-based), once it arrived. */
  async nth(n: number, timeoutMs = 5_000): Promise<FakeHostRun> {
    const deadline = Date.now() + timeoutMs;
    while (!this.runs[n]) {
      if (Date.now() > deadline) throw new Error(`run ${n} never reached this host (it got ${this.runs.length})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.runs[n];
  }
}
