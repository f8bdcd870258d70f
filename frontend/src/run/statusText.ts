/**
 * How a run's state reads in the page: the status pill's words and tone, and
 * the exit summary (exit code, wall time, CPU time, memory).
 * @module
 */
import type { Diagnostic, ExitEvent } from '@codecell/protocol';
import type { RunState } from './runState';

/** Colour family of the status pill. */
export type StatusTone = 'idle' | 'busy' | 'ok' | 'warn' | 'error';

export interface StatusText {
  readonly label: string;
  readonly tone: StatusTone;
}

/**
 * Words for how a run ended. `status` is a run status, or an error code when
 * the run could not run at all.
 * @example endStatusText('runtime_error', 1) // { label: 'Error (exit code 1)', tone: 'error' }
 */
export function endStatusText(status: string, code: number | null): StatusText {
  switch (status) {
    case 'ok':
      return { label: 'Finished', tone: 'ok' };
    case 'runtime_error':
      return { label: code === null ? 'Error' : `Error (exit code ${code})`, tone: 'error' };
    case 'compile_error':
      return { label: 'Compile error', tone: 'error' };
    case 'timeout':
      return { label: 'Timed out', tone: 'warn' };
    case 'memory_limit':
      return { label: 'Out of memory', tone: 'error' };
    case 'output_limit':
      return { label: 'Output cut (limit reached)', tone: 'warn' };
    case 'killed':
      return { label: 'Stopped', tone: 'warn' };
    case 'internal_error':
    case 'vm_boot_failed':
    case 'vm_crashed':
      return { label: 'Sandbox error', tone: 'error' };
    case 'sandbox_unavailable':
      return { label: 'Sandbox unavailable', tone: 'error' };
    case 'capacity_exceeded':
      return { label: 'Busy: try again', tone: 'warn' };
    default:
      return { label: 'Failed', tone: 'error' };
  }
}

/** The status pill for any state. */
export function runStatusText(state: RunState): StatusText {
  switch (state.phase) {
    case 'idle':
      return { label: 'Ready', tone: 'idle' };
    case 'submitting':
      return { label: 'Submitting…', tone: 'busy' };
    case 'attaching':
      return { label: 'Connecting…', tone: 'busy' };
    case 'queued':
      return { label: state.position === null ? 'Queued' : `Queued (position ${state.position})`, tone: 'busy' };
    case 'starting':
      return { label: state.stopping ? 'Stopping…' : 'Starting…', tone: 'busy' };
    case 'running':
      if (state.stopping) return { label: 'Stopping…', tone: 'busy' };
      return { label: state.stage === 'compile' ? 'Compiling…' : 'Running…', tone: 'busy' };
    case 'finished': {
      const status = state.end?.status ?? state.exit?.status ?? 'internal_error';
      return endStatusText(status, state.end?.code ?? state.exit?.code ?? null);
    }
  }
}

/**
 * `850 ms`, `1.23 s`, `12.3 s`, `2 min 05 s`.
 * @example formatDuration(1234) // '1.23 s'
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalS = Math.round(ms / 1000);
  return `${Math.floor(totalS / 60)} min ${String(totalS % 60).padStart(2, '0')} s`;
}

/** Kibibytes as `512 KB`, `12.5 MB`, `1.20 GB` (powers of 1024, as RSS is reported). */
export function formatMemory(kb: number): string {
  if (!Number.isFinite(kb) || kb < 0) return '–';
  if (kb < 1024) return `${Math.round(kb)} KB`;
  const mb = kb / 1024;
  if (mb < 1024) return `${mb < 100 ? mb.toFixed(1) : Math.round(mb)} MB`;
  return `${(mb / 1024).toFixed(2)} GB`;
}

/** One labelled figure of the exit summary. */
export interface ExitFact {
  readonly label: string;
  readonly value: string;
}

/** Exit code (or signal), wall time, CPU time and peak memory of a finished program. */
export function exitFacts(exit: ExitEvent): ExitFact[] {
  const facts: ExitFact[] = [];
  if (exit.code !== null) facts.push({ label: 'exit code', value: String(exit.code) });
  else if (exit.signal !== null) facts.push({ label: 'signal', value: exit.signal });
  facts.push({ label: 'wall', value: formatDuration(exit.wallMs) });
  facts.push({ label: 'CPU', value: formatDuration(exit.cpuMs) });
  if (exit.maxRssKb > 0) facts.push({ label: 'memory', value: formatMemory(exit.maxRssKb) });
  return facts;
}

/**
 * What a compile error means, in words: the program did not run, how many
 * errors the compiler reported and in which files (they are marked there).
 * @example compileErrorText([{ file: 'main.cpp', severity: 'error', … }]) // 'The program did not run: the compiler reported 1 error, marked in main.cpp.'
 */
export function compileErrorText(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return 'The program did not run: the compiler stopped with an error (its output is above).';
  const files = [...new Set(errors.flatMap((d) => (d.file === null ? [] : [d.file])))];
  const count = `${errors.length} error${errors.length === 1 ? '' : 's'}`;
  return `The program did not run: the compiler reported ${count}${files.length > 0 ? `, marked in ${files.join(', ')}` : ''}.`;
}
