/**
 * Runs one throwaway program in a fresh VM before it is pooled. Under TCG the
 * first run of a VM pays for translating the agent's and kernel's hot paths
 * (~150 ms); doing it here keeps that off the first user's run.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { AgentConnection } from '../agent/AgentConnection.js';
import { planStages } from '../runs/stageCommands.js';

/** A program that touches what most runs touch: print, stdin, exit. */
const WARM_UP_SOURCE = 'import os, sys\nos.unlink(__file__)\nprint("warm")\nsys.stdin.read()\n';

const WARM_UP_ENTRY = '.warmup.py';

/** Deadline for the warm-up run. */
export const WARM_UP_TIMEOUT_MS = 15_000;

/** Runs the warm-up program; rejects on failure, after {@link WARM_UP_TIMEOUT_MS} or when `signal` aborts, even if the agent stops answering. */
export async function warmUp(agent: AgentConnection, signal?: AbortSignal): Promise<void> {
  // The same argv (and so the same warm path) as a user's Python run.
  const [stage] = planStages({ runtime: 'py', entry: WARM_UP_ENTRY, paths: [WARM_UP_ENTRY], acceleration: 'kvm', memoryMb: 64, timeoutMs: WARM_UP_TIMEOUT_MS, compileMemoryMb: 64, compileTimeoutMs: WARM_UP_TIMEOUT_MS });
  if (!stage) throw new CodeCellError('internal_error', 'the Python runtime has no run stage');
  const run = agent.exec({
    files: [{ path: WARM_UP_ENTRY, contentB64: Buffer.from(WARM_UP_SOURCE).toString('base64') }],
    stdinB64: '',
    stdinOpen: false,
    stages: [{ name: stage.name, argv: stage.argv, env: stage.env, memoryBytes: 64 << 20, ...(stage.warm ? { warm: stage.warm } : {}) }],
    limits: { pids: 16, outputBytes: 1024, fileSizeBytes: 1 << 20, openFiles: 64 },
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  // The agent is asked to kill the run at the deadline, and the wait ends then
  // whatever the agent does: a guest that never answers is not a warm VM.
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.signal('SIGKILL');
      reject(new CodeCellError('vm_boot_failed', `warm-up run did not finish in ${WARM_UP_TIMEOUT_MS} ms`));
    }, WARM_UP_TIMEOUT_MS);
    onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new CodeCellError('sandbox_unavailable', 'warm-up aborted'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  const finished = (async () => {
    for await (const ev of run.events) {
      if (ev.type === 'exit' && ev.exit.code !== 0) {
        throw new CodeCellError('vm_boot_failed', `warm-up run failed in the new VM (code ${ev.exit.code}, signal ${ev.exit.signal})`);
      }
    }
  })();
  finished.catch(() => undefined); // the race below sees its error; a late one is dropped
  try {
    await Promise.race([finished, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
