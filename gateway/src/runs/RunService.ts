/**
 * The run procedures as callers use them (issue 9): who may run, type stdin,
 * stop or watch a run is decided here, from the caller's role in the run's
 * room (runner and above to run, type and stop; viewer and above to watch).
 * Runs without a room belong to who started them. `startedBy` is the caller's
 * display name (with AUTH_MODE=none, the label the page sends). Quotas and
 * other extensions run before a run is queued. Terminal sessions (issue 12)
 * are opened by runners and above and watched by viewers and above; they
 * take no run slot, but their CPU time counts against its opener's
 * CPU_SECONDS_PER_DAY, and a spent quota refuses a new one.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { AuthMode, RoomAction, RunCodeOutput, SendStdinInput, StopRunInput, TerminalProgram, TerminalSize, WorkspaceFile } from '@codecell/protocol';
import type { RoomAccess } from '../access/RoomAccess.js';
import { requireUser } from '../auth/AuthService.js';
import type { Caller } from '../auth/Caller.js';
import { quotaKeyOf } from '../auth/Caller.js';
import type { GatewayHooks } from '../extensions.js';
import type { RunInfo } from './ports.js';
import type { RunManager } from './RunManager.js';
import type { RoomTerminals, TerminalsListener } from './RoomTerminals.js';
import type { ParsedRunCodeInput, RunOwner } from './types.js';

/** Options of {@link RunService}. */
export interface RunServiceOptions {
  readonly mode: AuthMode;
  readonly runs: RunManager;
  readonly access: RoomAccess;
  readonly hooks: GatewayHooks;
  readonly terminals: RoomTerminals;
}

/** Runs, as the caller may use them. */
export class RunService {
  readonly #o: RunServiceOptions;

  constructor(options: RunServiceOptions) {
    this.#o = options;
  }

  /** Queues a run for the caller (runner and above in its room). */
  async submit(caller: Caller, input: ParsedRunCodeInput): Promise<RunCodeOutput> {
    const roomId = input.roomId ?? null;
    if (roomId !== null) await this.#o.access.require(caller, roomId, 'run');
    else if (this.#o.mode !== 'none') requireUser(caller, 'run code outside a room');
    const owner = this.#ownerOf(caller, input);
    await this.#o.hooks.beforeRun({ caller, owner, roomId });
    try {
      return await this.#o.runs.submit(input, owner);
    } catch (err) {
      this.#o.hooks.afterRun({ owner, jobId: null, accepted: false, cpuMs: null });
      throw err;
    }
  }

  async sendStdin(caller: Caller, input: SendStdinInput, signal?: AbortSignal): Promise<void> {
    await this.requireJob(caller, input.jobId, 'run');
    await this.#o.runs.sendStdin(input, signal);
  }

  async stop(caller: Caller, input: StopRunInput, signal?: AbortSignal): Promise<void> {
    await this.requireJob(caller, input.jobId, 'run');
    await this.#o.runs.stop(input, signal);
  }

  /** Resizes a TTY run or terminal session (runner and above). */
  async resize(caller: Caller, input: { readonly jobId: string } & TerminalSize, signal?: AbortSignal): Promise<void> {
    await this.requireJob(caller, input.jobId, 'run');
    await this.#o.runs.resize(input.jobId, { cols: input.cols, rows: input.rows }, signal);
  }

  /** Opens (or joins) the room's terminal session of `program` (runner and above); watch its jobId for the screen. */
  async openTerminal(caller: Caller, input: { roomId: string; program: TerminalProgram; size: TerminalSize; files?: readonly WorkspaceFile[] }): Promise<RunCodeOutput> {
    await this.#o.access.require(caller, input.roomId, 'run');
    const owner = this.#ownerOf(caller, {});
    await this.#o.hooks.beforeTerminal({ caller, owner, roomId: input.roomId });
    const session = await this.#o.terminals.open({ ...input, owner });
    return { jobId: session.jobId, position: 0 };
  }

  /** Follows the room's open terminal sessions (viewer and above); call the result to stop. */
  async followTerminals(caller: Caller, roomId: string, listener: TerminalsListener): Promise<() => void> {
    await this.#o.access.require(caller, roomId, 'read');
    return this.#o.terminals.follow(roomId, listener);
  }

  /**
   * Checks that the caller may do `action` to the run (`read`: watch its
   * stream). Unknown runs and runs of others without a room are `not_found`.
   */
  async requireJob(caller: Caller, jobId: string, action: RoomAction): Promise<RunInfo> {
    const run = await this.#o.runs.info(jobId);
    if (run === undefined) throw new CodeCellError('not_found', `no run ${jobId}: it never existed or finished a while ago`);
    if (run.sessionId !== undefined) await this.#o.access.require(caller, run.sessionId, action);
    else if (this.#o.mode !== 'none' && (caller.principal === null || run.owner?.userId !== caller.principal.userId)) {
      throw new CodeCellError(caller.principal === null ? 'unauthorized' : 'not_found', `no run ${jobId} of yours`);
    }
    return run;
  }

  #ownerOf(caller: Caller, input: Pick<ParsedRunCodeInput, 'startedBy'>): RunOwner {
    const p = caller.principal;
    // With AUTH_MODE=none everyone is the local user; the page's label is the only name there is.
    const displayName = this.#o.mode === 'none' ? (input.startedBy ?? null) : (p?.displayName ?? null);
    return { key: quotaKeyOf(caller), userId: p?.userId ?? null, displayName };
  }
}
