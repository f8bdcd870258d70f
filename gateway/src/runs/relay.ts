/**
 * The part of the in-process backend that talks to the sandbox for one run:
 * sends it (`POST /run`, or `POST /terminal` for a terminal session), relays
 * its events in order into the {@link Run} until `exit`, and kills it on
 * request. Used by LocalRuns.
 * @module
 */
import { CodeCellError, RunEndTracker, toCodeCellError } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RunEnd, SandboxApi } from './ports.js';
import type { Run } from './Run.js';

/** What {@link relayRun} needs from the backend. */
export interface RelayOptions {
  readonly run: Run;
  readonly sandbox: SandboxApi;
  readonly logger: Logger;
  /** Ends the run with `end` (only the first call counts). */
  readonly finish: (run: Run, end: RunEnd) => void;
  /** The run's request left for the sandbox (or failed before); told once. */
  readonly onSent: () => void;
}

/** Sends the run to the sandbox and relays its events until it ends. Resolves with the error code when the sandbox failed, else null. Never throws. */
export async function relayRun({ run, sandbox, logger, finish, onSent }: RelayOptions): Promise<string | null> {
  run.markStarting();
  let sent = false;
  const announce = (): void => {
    if (sent) return;
    sent = true;
    onSent();
  };
  const tracker = new RunEndTracker({ terminal: run.program !== null });
  try {
    // The client serialises the body at once: the run keeps no copy of the files from here on.
    const request = run.takeRequest();
    const handle = 'program' in request ? await sandbox.terminal(request, run.abort.signal, announce) : await sandbox.run(request, run.abort.signal, announce);
    // A client that does not say when its request left (the unit tests' fake) has sent it by now.
    announce();
    run.markRunning(handle.jobId);
    if (run.killRequested) void killRun(run, sandbox).catch(() => undefined);
    for await (const event of handle.events) {
      run.pushEvent(event);
      const end = tracker.observe(event);
      if (end) {
        finish(run, { status: end.status, code: end.code, message: end.message });
        return null;
      }
    }
    // A stream may end without exit only when the run failed before it started.
    const end = tracker.afterStream();
    if (end) {
      finish(run, { status: end.status, code: end.code, message: end.message });
      return null;
    }
    throw new CodeCellError('sandbox_unavailable', 'the sandbox closed the run stream before the run ended');
  } catch (err) {
    announce();
    if (run.state === 'finished') return null;
    const reason: unknown = run.abort.signal.aborted ? run.abort.signal.reason : err;
    const e = toCodeCellError(reason);
    if (e.code === 'internal_error') logger.error('run failed', { jobId: run.jobId, error: e.cause instanceof Error ? e.cause.message : e.message });
    run.pushEvent({ type: 'error', code: e.code, message: e.message });
    finish(run, { status: e.code, code: null, message: e.message });
    return e.code;
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
