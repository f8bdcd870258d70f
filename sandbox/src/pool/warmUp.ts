/**
 * Runs one throwaway program in a fresh VM before it is pooled. Under TCG the
 * first run of a VM pays for translating the agent's and kernel's hot paths
 * (~150 ms); doing it here keeps that off the first user's run.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { AgentConnection } from '../agent/AgentConnection.js';

/** A program that touches what most runs touch: print, stdin, exit. */
const WARM_UP_SOURCE = 'import os, sys\nos.unlink(__file__)\nprint("warm")\nsys.stdin.read()\n';

/** Deadline for the warm-up run. */
export const WARM_UP_TIMEOUT_MS = 15_000;

export async function warmUp(agent: AgentConnection): Promise<void> {
  const run = agent.exec({
    entry: '.warmup.py',
    files: [{ path: '.warmup.py', contentB64: Buffer.from(WARM_UP_SOURCE).toString('base64') }],
    stdinB64: '',
    stdinOpen: false,
    limits: { memoryBytes: 64 << 20, pids: 16, outputBytes: 1024, fileSizeBytes: 1 << 20, openFiles: 64 },
  });
  const timer = setTimeout(() => run.signal('SIGKILL'), WARM_UP_TIMEOUT_MS);
  try {
    for await (const ev of run.events) {
      if (ev.type === 'exit' && ev.exit.code !== 0) {
        throw new CodeCellError('vm_boot_failed', `warm-up run failed in the new VM (code ${ev.exit.code}, signal ${ev.exit.signal})`);
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
