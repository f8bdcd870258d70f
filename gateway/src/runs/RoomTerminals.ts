/**
 * The terminal sessions of each room (issue 12): at most one per program
 * (`bash`, `python`, `node`), shared by everyone in the room like tmux, in a
 * fleet whichever gateway they came through (the backend's
 * {@link TerminalPort} keeps them). Opening one that is open joins it; when
 * it ends, the room has none until someone opens it again. Followers are told
 * the room's list on every change: a session opened (the port says so) or
 * ended (this follows each listed session's log to its `end`).
 * @module
 */
import type { OpenTerminal, TerminalProgram, TerminalRequest, TerminalSize, WorkspaceFile } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RunSubscriber, RunSubscription } from './ports.js';
import type { RunOwner } from './types.js';

/** What {@link RoomTerminals} needs from the run core (RunManager). */
export interface TerminalRuns {
  openTerminal(request: TerminalRequest, owner: RunOwner | null): Promise<OpenTerminal>;
  terminals(roomId: string): Promise<OpenTerminal[]>;
  watchTerminals(roomId: string, onChange: () => void): () => void;
  subscribe(jobId: string, subscriber: RunSubscriber): Promise<RunSubscription | undefined>;
}

/** Told the room's open terminal sessions. Must not throw. */
export type TerminalsListener = (open: OpenTerminal[]) => void;

/** A room somebody follows. */
interface Watched {
  readonly listeners: Set<TerminalsListener>;
  /** The list as last told ('' before the first). */
  told: string;
  open: OpenTerminal[];
  /** Each listed session's log, followed for its end. */
  readonly ends: Map<string, () => void>;
  /** Sessions whose log ended: left out even if a list still names them (kept while it does). */
  readonly gone: Set<string>;
  stopWatch: () => void;
  /** A refresh in progress, and whether another was asked for meanwhile. */
  refreshing: Promise<void> | null;
  again: boolean;
}

export class RoomTerminals {
  readonly #o: { readonly runs: TerminalRuns; readonly logger: Logger };
  readonly #rooms = new Map<string, Watched>();

  constructor(options: { readonly runs: TerminalRuns; readonly logger: Logger }) {
    this.#o = options;
  }

  /** The room's terminal session of `program`: the open one, else a new one of that size (with `files` written first). */
  async open(o: { roomId: string; program: TerminalProgram; size: TerminalSize; files?: readonly WorkspaceFile[]; owner: RunOwner | null }): Promise<OpenTerminal> {
    const request: TerminalRequest = { sessionId: o.roomId, program: o.program, size: o.size, ...(o.files ? { files: [...o.files] } : {}) };
    const session = await this.#o.runs.openTerminal(request, o.owner);
    const w = this.#rooms.get(o.roomId);
    if (w) await this.#refresh(o.roomId, w);
    return session;
  }

  /** The room's open terminal sessions. */
  list(roomId: string): Promise<OpenTerminal[]> {
    return this.#o.runs.terminals(roomId);
  }

  /** Tells `listener` the room's list now and on every change, until the returned function is called. */
  async follow(roomId: string, listener: TerminalsListener): Promise<() => void> {
    let w = this.#rooms.get(roomId);
    if (!w) {
      const created: Watched = { listeners: new Set(), told: '', open: [], ends: new Map(), gone: new Set(), stopWatch: () => undefined, refreshing: null, again: false };
      this.#rooms.set(roomId, created);
      created.stopWatch = this.#o.runs.watchTerminals(roomId, () => void this.#refresh(roomId, created));
      w = created;
    }
    const watched = w;
    // Listening before the first read: a room dropped meanwhile (its last other follower left) is not left with it.
    let told = false;
    const own: TerminalsListener = (open) => {
      told = true;
      listener(open);
    };
    watched.listeners.add(own);
    await this.#refresh(roomId, watched);
    if (!told) this.#tellOne(roomId, own, watched.open);
    return () => {
      watched.listeners.delete(own);
      if (watched.listeners.size > 0 || this.#rooms.get(roomId) !== watched) return;
      this.#rooms.delete(roomId);
      watched.stopWatch();
      for (const stop of watched.ends.values()) stop();
      watched.ends.clear();
    };
  }

  /** Reads the room's list again (one read at a time, the last ask always read) and tells followers when it changed. */
  #refresh(roomId: string, w: Watched): Promise<void> {
    if (w.refreshing) {
      w.again = true;
      return w.refreshing;
    }
    w.refreshing = (async () => {
      do {
        w.again = false;
        try {
          await this.#readOnce(roomId, w);
        } catch (err) {
          this.#o.logger.warn("could not read a room's terminal sessions", { roomId, error: String(err) });
        }
      } while (w.again && this.#rooms.get(roomId) === w);
    })().finally(() => (w.refreshing = null));
    return w.refreshing;
  }

  async #readOnce(roomId: string, w: Watched): Promise<void> {
    const listed = await this.#o.runs.terminals(roomId);
    if (this.#rooms.get(roomId) !== w) return;
    for (const jobId of w.gone) if (!listed.some((t) => t.jobId === jobId)) w.gone.delete(jobId);
    const open = listed.filter((t) => !w.gone.has(t.jobId));
    const ids = new Set(open.map((t) => t.jobId));
    for (const [jobId, stop] of w.ends) {
      if (ids.has(jobId)) continue;
      stop();
      w.ends.delete(jobId);
    }
    for (const t of open) {
      // Dropped meanwhile (nobody follows it): nothing more to follow.
      if (this.#rooms.get(roomId) !== w) return;
      if (!w.ends.has(t.jobId)) await this.#followEnd(roomId, w, t.jobId);
    }
    w.open = open;
    const told = JSON.stringify(open);
    if (told === w.told) return;
    w.told = told;
    for (const listener of [...w.listeners]) this.#tellOne(roomId, listener, open);
  }

  /** Reads the room again when the session's log ends (or is gone already). */
  async #followEnd(roomId: string, w: Watched, jobId: string): Promise<void> {
    let ended = false;
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      w.gone.add(jobId);
      w.ends.get(jobId)?.();
      w.ends.delete(jobId);
      void this.#refresh(roomId, w);
    };
    w.ends.set(jobId, () => (ended = true));
    const sub = await this.#o.runs.subscribe(jobId, { send: (m) => (m.type === 'end' ? onEnd() : undefined) });
    if (!sub || sub.replay.at(-1)?.type === 'end') return onEnd();
    // Ended, or no longer followed (the room was dropped, the session left its list) while subscribing.
    if (ended || w.ends.get(jobId) === undefined || this.#rooms.get(roomId) !== w) {
      ended = true;
      return sub.unsubscribe();
    }
    w.ends.set(jobId, () => {
      ended = true;
      sub.unsubscribe();
    });
  }

  #tellOne(roomId: string, listener: TerminalsListener, open: OpenTerminal[]): void {
    try {
      listener(open);
    } catch (err) {
      this.#o.logger.warn('a terminals follower failed', { roomId, error: String(err) });
    }
  }
}
