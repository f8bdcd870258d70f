/**
 * The gateway's extension points (house style rule 18, after Hocuspocus's
 * `Extension`): whoever builds the server passes extensions; their hooks run
 * in order, and a hook that throws refuses what is being done. Authentication,
 * quotas and room access checks are extensions; a later issue can add more
 * (a Judge0 `X-Auth-Token`, an IP allow-list) without touching the core.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Extension } from '@hocuspocus/server';
import type { RoomAction, RoomRole } from '@codecell/protocol';
import type { Caller, Credential } from './auth/Caller.js';
import type { Principal } from '@codecell/protocol';
import type { RunOwner } from './runs/types.js';

/** What an authentication hook sees of a request or WebSocket upgrade. */
export interface AuthenticatePayload {
  readonly headers: IncomingHttpHeaders;
  readonly address: string;
}

/** Who a request is, when a hook recognised its credentials. */
export interface Authenticated {
  readonly principal: Principal;
  readonly credential: Credential;
}

/** A room action the core allowed (by role); hooks may still refuse it. */
export interface AuthorizePayload {
  readonly caller: Caller;
  readonly roomId: string;
  readonly action: RoomAction;
  readonly role: RoomRole;
}

/** A run about to be queued. */
export interface BeforeRunPayload {
  readonly caller: Caller;
  readonly owner: RunOwner;
  /** The room it runs in, or null. */
  readonly roomId: string | null;
}

/** A run that will not (`accepted: false`) or no longer runs. */
export interface AfterRunPayload {
  readonly owner: RunOwner;
  readonly jobId: string | null;
  readonly accepted: boolean;
  /** CPU time the sandbox measured; null when it never ran. */
  readonly cpuMs: number | null;
  /**
   * Submitted through a gateway that is gone (fleet mode): this gateway took
   * over following it, but what `beforeRun` counted was counted there (a
   * concurrent-run token lapses by itself); only its CPU time is to charge.
   */
  readonly adopted?: boolean;
}

/** A terminal session (a room's shell or console) that ended. */
export interface TerminalEndPayload {
  readonly owner: RunOwner;
  readonly jobId: string;
  /** CPU time of its whole cgroup (the shell and all it started); null without an exit. */
  readonly cpuMs: number | null;
}

/** Bytes the gateway itself is about to write into a room (files a run wrote), which no collab hook sees. */
export interface RoomWritePayload {
  readonly roomId: string;
  readonly bytes: number;
}

/** One extension: any subset of the hooks. */
export interface GatewayExtension {
  readonly extensionName: string;
  /** Recognises credentials; null passes to the next extension. The first answer wins. */
  onAuthenticate?(payload: AuthenticatePayload): Promise<Authenticated | null>;
  /** Runs after the role check of every room action. Throw to refuse. */
  onAuthorize?(payload: AuthorizePayload): Promise<void>;
  /** Before a run is queued. Throw to refuse (quotas). */
  beforeRun?(payload: BeforeRunPayload): Promise<void>;
  /** Once for every run that passed `beforeRun`: refused later, or ended. Must not throw. */
  afterRun?(payload: AfterRunPayload): void;
  /** Before a terminal session opens (it is not a run: no run slot is taken). Throw to refuse (the CPU quota). */
  beforeTerminal?(payload: BeforeRunPayload): Promise<void>;
  /** When a terminal session this gateway opened ended (its CPU time). Must not throw. */
  afterTerminal?(payload: TerminalEndPayload): void;
  /** Before a room is created. Throw to refuse. */
  beforeCreateRoom?(payload: { readonly caller: Caller }): Promise<void>;
  /** Before the gateway writes into a room on its own (files a run wrote). Throw a CodeCellError to refuse (storage quota). */
  beforeRoomWrite?(payload: RoomWritePayload): Promise<void>;
  /** Hocuspocus extensions this one contributes to `/collab`. */
  readonly collabExtensions?: readonly Extension[];
}

/** Runs the hooks of a list of extensions, in order. */
export class GatewayHooks {
  readonly #extensions: readonly GatewayExtension[];

  constructor(extensions: readonly GatewayExtension[]) {
    this.#extensions = extensions;
  }

  /** The caller of a request: the first extension that recognises it, else nobody. */
  async authenticate(payload: AuthenticatePayload): Promise<Caller> {
    for (const e of this.#extensions) {
      const found = await e.onAuthenticate?.(payload);
      if (found) return { ...found, address: payload.address };
    }
    return { principal: null, credential: null, address: payload.address };
  }

  async authorize(payload: AuthorizePayload): Promise<void> {
    for (const e of this.#extensions) await e.onAuthorize?.(payload);
  }

  /** Runs every `beforeRun`; when one throws, those that passed get `afterRun` (not accepted) so they can release what they counted. */
  async beforeRun(payload: BeforeRunPayload): Promise<void> {
    const passed: GatewayExtension[] = [];
    try {
      for (const e of this.#extensions) {
        await e.beforeRun?.(payload);
        passed.push(e);
      }
    } catch (err) {
      for (const e of passed) e.afterRun?.({ owner: payload.owner, jobId: null, accepted: false, cpuMs: null });
      throw err;
    }
  }

  afterRun(payload: AfterRunPayload): void {
    for (const e of this.#extensions) e.afterRun?.(payload);
  }

  async beforeTerminal(payload: BeforeRunPayload): Promise<void> {
    for (const e of this.#extensions) await e.beforeTerminal?.(payload);
  }

  afterTerminal(payload: TerminalEndPayload): void {
    for (const e of this.#extensions) e.afterTerminal?.(payload);
  }

  async beforeCreateRoom(payload: { readonly caller: Caller }): Promise<void> {
    for (const e of this.#extensions) await e.beforeCreateRoom?.(payload);
  }

  async beforeRoomWrite(payload: RoomWritePayload): Promise<void> {
    for (const e of this.#extensions) await e.beforeRoomWrite?.(payload);
  }

  /** Every contributed Hocuspocus extension, in order. */
  collabExtensions(): Extension[] {
    return this.#extensions.flatMap((e) => [...(e.collabExtensions ?? [])]);
  }
}
