/**
 * The rooms' terminal sessions in this process (the embedded default): at
 * most one per program per room, kept while it runs. Opening one that is open
 * joins it; when it ends, the room has none until someone opens it again.
 * Watchers are told of every session opened and ended.
 * @module
 */
import type { OpenTerminal, TerminalProgram, TerminalRequest } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { OpenedTerminal, RunFacts, TerminalPort } from '../ports.js';
import type { Run } from '../Run.js';

/** Options of {@link LocalTerminals}. */
export interface LocalTerminalsOptions {
  /** Starts a session in the room's VM (the in-process backend). */
  readonly start: (o: { readonly facts: RunFacts; readonly request: TerminalRequest }) => Run;
  readonly logger: Logger;
}

/** Terminal sessions by room and program. */
export class LocalTerminals implements TerminalPort {
  readonly #o: LocalTerminalsOptions;
  readonly #open = new Map<string, Map<TerminalProgram, Run>>();
  readonly #watchers = new Map<string, Set<() => void>>();

  constructor(options: LocalTerminalsOptions) {
    this.#o = options;
  }

  async open({ facts, request }: { readonly facts: RunFacts; readonly request: TerminalRequest }): Promise<OpenedTerminal> {
    const roomId = request.sessionId;
    const existing = this.#open.get(roomId)?.get(request.program);
    if (existing && existing.state !== 'finished') return { session: entryOf(request.program, existing), started: false };
    const run = this.#o.start({ facts, request });
    let room = this.#open.get(roomId);
    if (!room) this.#open.set(roomId, (room = new Map<TerminalProgram, Run>()));
    room.set(request.program, run);
    // Forget it when it ends (a subscriber that sees `end`; a finished run replays it at once).
    const sub = run.subscribe({ send: (msg) => (msg.type === 'end' ? this.#ended(roomId, request.program, run) : undefined) });
    if (sub.replay.at(-1)?.type === 'end') this.#ended(roomId, request.program, run);
    this.#tell(roomId);
    return { session: entryOf(request.program, run), started: true };
  }

  async list(roomId: string): Promise<OpenTerminal[]> {
    const room = this.#open.get(roomId);
    if (!room) return [];
    return [...room].filter(([, run]) => run.state !== 'finished').map(([program, run]) => entryOf(program, run));
  }

  watch(roomId: string, onChange: () => void): () => void {
    let set = this.#watchers.get(roomId);
    if (!set) this.#watchers.set(roomId, (set = new Set<() => void>()));
    // Wrapped: the same callback may watch twice, each stopped on its own.
    const w = (): void => onChange();
    set.add(w);
    return () => {
      set.delete(w);
      if (set.size === 0 && this.#watchers.get(roomId) === set) this.#watchers.delete(roomId);
    };
  }

  #ended(roomId: string, program: TerminalProgram, run: Run): void {
    const room = this.#open.get(roomId);
    if (room?.get(program) !== run) return;
    room.delete(program);
    if (room.size === 0) this.#open.delete(roomId);
    this.#tell(roomId);
  }

  #tell(roomId: string): void {
    for (const w of [...(this.#watchers.get(roomId) ?? [])]) {
      try {
        w();
      } catch (err) {
        this.#o.logger.warn('a terminals watcher failed', { roomId, error: String(err) });
      }
    }
  }
}

function entryOf(program: TerminalProgram, run: Run): OpenTerminal {
  return { program, jobId: run.jobId, startedBy: run.startedBy };
}
