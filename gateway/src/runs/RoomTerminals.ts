/**
 * The terminal sessions of each room (issue 12): at most one per program
 * (`bash`, `python`, `node`), shared by everyone in the room like tmux. Opening
 * one that is open joins it; when it ends, the room has none until someone
 * opens it again. Followers are told the room's list on every change.
 * @module
 */
import type { OpenTerminal, TerminalProgram, TerminalRequest, TerminalSize, WorkspaceFile } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { TerminalRun } from './ports.js';
import type { RunOwner } from './types.js';

/** What {@link RoomTerminals} needs from the run core (RunManager). */
export interface TerminalStarter {
  startTerminal(request: TerminalRequest, owner: RunOwner | null): TerminalRun;
}

/** Told the room's open terminal sessions. Must not throw. */
export type TerminalsListener = (open: OpenTerminal[]) => void;

export class RoomTerminals {
  readonly #o: { readonly runs: TerminalStarter; readonly logger: Logger };
  readonly #open = new Map<string, Map<TerminalProgram, TerminalRun>>();
  readonly #followers = new Map<string, Set<TerminalsListener>>();

  constructor(options: { readonly runs: TerminalStarter; readonly logger: Logger }) {
    this.#o = options;
  }

  /** The room's terminal session of `program`: the open one, else a new one of that size (with `files` written first). */
  open(o: { roomId: string; program: TerminalProgram; size: TerminalSize; files?: readonly WorkspaceFile[]; owner: RunOwner | null }): TerminalRun {
    const existing = this.#open.get(o.roomId)?.get(o.program);
    if (existing && existing.state !== 'finished') return existing;
    const run = this.#o.runs.startTerminal({ sessionId: o.roomId, program: o.program, size: o.size, ...(o.files ? { files: [...o.files] } : {}) }, o.owner);
    let room = this.#open.get(o.roomId);
    if (!room) this.#open.set(o.roomId, (room = new Map<TerminalProgram, TerminalRun>()));
    room.set(o.program, run);
    // Forget it when it ends (a subscriber that sees `end`; a finished run replays it at once).
    const sub = run.subscribe({ send: (msg) => (msg.type === 'end' ? this.#ended(o.roomId, o.program, run) : undefined) });
    if (sub.replay.at(-1)?.type === 'end') this.#ended(o.roomId, o.program, run);
    this.#tell(o.roomId);
    return run;
  }

  /** The room's open terminal sessions. */
  list(roomId: string): OpenTerminal[] {
    const room = this.#open.get(roomId);
    if (!room) return [];
    return [...room].filter(([, run]) => run.state !== 'finished').map(([program, run]) => ({ program, jobId: run.jobId, startedBy: run.startedBy }));
  }

  /** Tells `listener` the room's list now and on every change, until the returned function is called. */
  follow(roomId: string, listener: TerminalsListener): () => void {
    let set = this.#followers.get(roomId);
    if (!set) this.#followers.set(roomId, (set = new Set<TerminalsListener>()));
    set.add(listener);
    listener(this.list(roomId));
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#followers.get(roomId) === set) this.#followers.delete(roomId);
    };
  }

  #ended(roomId: string, program: TerminalProgram, run: TerminalRun): void {
    const room = this.#open.get(roomId);
    if (room?.get(program) !== run) return;
    room.delete(program);
    if (room.size === 0) this.#open.delete(roomId);
    this.#tell(roomId);
  }

  #tell(roomId: string): void {
    const open = this.list(roomId);
    for (const listener of [...(this.#followers.get(roomId) ?? [])]) {
      try {
        listener(open);
      } catch (err) {
        this.#o.logger.warn('a terminals follower failed', { roomId, error: String(err) });
      }
    }
  }
}
