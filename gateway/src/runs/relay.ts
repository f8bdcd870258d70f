/**
 * The part of the run core that talks to the sandbox for one run: sends it
 * (`POST /run`, or `POST /terminal` for a terminal session), relays its events
 * in order until `exit`, and kills it on request. Used by RunManager.
 * @module
 */
import { CodeCellError, toCodeCellError } from '@codecell/protocol';
import type { FileEvent, RunEvent } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { SandboxApi } from '../sandboxClient.js';
import type { Run, RunEnd } from './Run.js';

/** What {@link relayRun} needs from the run core. */
export interface RelayOptions {
  readonly run: Run;
  readonly sandbox: SandboxApi;
  readonly logger: Logger;
  /** Ends the run with `end` (only the first call counts). */
  readonly finish: (run: Run, end: RunEnd) => void;
  /** The run's request left for the sandbox (or failed before); told once, never after the run ended. */
  readonly onSent: (run: Run) => void;
  /** The sandbox's `start` event arrived. */
  readonly onStarted: (run: Run) => void;
  /** A file the run wrote (issue 11): the run core relays it (content emptied) and writes it into the room. */
  readonly onFile: (run: Run, event: FileEvent) => void;
}

/** Sends the run to the sandbox and relays its events until it ends. Never throws. */
export async function relayRun({ run, sandbox, logger, finish, onSent, onStarted, onFile }: RelayOptions): Promise<void> {
  run.markStarting();
  let sent = false;
  const announce = (): void => {
    if (sent || run.state === 'finished') return;
    sent = true;
    onSent(run);
  };
  let started = false;
  let lastError: Extract<RunEvent, { type: 'error' }> | null = null;
  try {
    // The client serialises the body at once: the run keeps no copy of the files from here on.
    const request = run.takeRequest();
    const handle = 'program' in request ? await sandbox.terminal(request, run.abort.signal, announce) : await sandbox.run(request, run.abort.signal, announce);
    // A client that does not say when its request left (the unit tests' fake) has sent it by now.
    announce();
    run.markRunning(handle.jobId);
    if (run.killRequested) void killRun(run, sandbox).catch(() => undefined);
    for await (const event of handle.events) {
      if (event.type === 'file') {
        onFile(run, event);
        continue;
      }
      run.pushEvent(event);
      if (event.type === 'start') {
        started = true;
        onStarted(run);
      }
      if (event.type === 'error') lastError = event;
      if (event.type === 'exit') {
        const message = lastError?.message ?? (event.signal ? `ended by ${event.signal}` : event.status === 'timeout' && run.program !== null ? 'ended after its idle timeout (no input)' : null);
        finish(run, { status: event.status, code: event.code, message });
        return;
      }
    }
    // A stream may end without exit only when the run failed before it started.
    if (!started && lastError) {
      finish(run, { status: lastError.code, code: null, message: lastError.message });
      return;
    }
    throw new CodeCellError('sandbox_unavailable', 'the sandbox closed the run stream before the run ended');
  } catch (err) {
    if (run.state === 'finished') return;
    announce();
    const reason: unknown = run.abort.signal.aborted ? run.abort.signal.reason : err;
    const e = toCodeCellError(reason);
    if (e.code === 'internal_error') logger.error('run failed', { jobId: run.jobId, error: e.cause instanceof Error ? e.cause.message : e.message });
    run.pushEvent({ type: 'error', code: e.code, message: e.message });
    finish(run, { status: e.code, code: null, message: e.message });
  } finally {
    // Closes the sandbox connection if it is still open (no-op after a clean end).
    if (!run.abort.signal.aborted) run.abort.abort();
  }
}

/** Asks the sandbox to kill a running run; a run that ended meanwhile is fine. */
export async function killRun(run: Run, sandbox: SandboxApi, signal?: AbortSignal): Promise<void> {
  const sandboxJobId = run.sandboxJobId;
  if (sandboxJobId === null) return;
  try {
    await sandbox.kill(sandboxJobId, signal);
  } catch (err) {
    // The run ended on its own meanwhile: nothing to stop.
    if (err instanceof CodeCellError && (err.code === 'run_finished' || err.code === 'not_found')) return;
    throw err;
  }
}
