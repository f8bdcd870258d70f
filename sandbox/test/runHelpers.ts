/**
 * Test helpers: run a program through a RunService and collect its events.
 * @module
 */
import type { RunEvent, RunRequest, ExitEvent } from '@codecell/protocol';
import type { RunService } from '../src/runs/RunService.js';
import type { RunJob } from '../src/runs/RunJob.js';

export interface Collected {
  readonly events: RunEvent[];
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: ExitEvent | undefined;
  readonly error: Extract<RunEvent, { type: 'error' }> | undefined;
  readonly vmId: string | undefined;
}

/** Drains a job's events. */
export async function collect(job: RunJob, onEvent?: (e: RunEvent) => void): Promise<Collected> {
  const events: RunEvent[] = [];
  for await (const e of job.events) {
    events.push(e);
    onEvent?.(e);
  }
  return summarize(events);
}

export function summarize(events: RunEvent[]): Collected {
  let stdout = '';
  let stderr = '';
  let exit: ExitEvent | undefined;
  let error: Collected['error'];
  let vmId: string | undefined;
  for (const e of events) {
    if (e.type === 'stdout') stdout += e.data;
    else if (e.type === 'stderr') stderr += e.data;
    else if (e.type === 'exit') exit = e;
    else if (e.type === 'error') error = e;
    else if (e.type === 'start') vmId = e.vmId;
  }
  return { events, stdout, stderr, exit, error, vmId };
}

/** Starts a Python run and collects it. */
export function runPy(runs: RunService, source: string, extra: Partial<RunRequest> = {}): Promise<Collected> {
  return collect(runs.start({ language: 'py', source, ...extra }));
}

/** Waits until `predicate` holds, polling. */
export async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The `code` of what `fn` throws (a CodeCellError's), or undefined when it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}
