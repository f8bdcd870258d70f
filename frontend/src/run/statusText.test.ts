import { describe, expect, it } from 'vitest';
import { RUN_STATUSES } from '@codecell/protocol';
import { initialRunState } from './runState';
import type { RunState } from './runState';
import { compileErrorText, endStatusText, exitFacts, formatDuration, formatMemory, runStatusText } from './statusText';

describe('endStatusText', () => {
  const rows = [
    ['ok', 0, 'Finished', 'ok'],
    ['runtime_error', 1, 'Error (exit code 1)', 'error'],
    ['runtime_error', null, 'Error', 'error'],
    ['timeout', null, 'Timed out', 'warn'],
    ['memory_limit', 137, 'Out of memory', 'error'],
    ['output_limit', null, 'Output cut (limit reached)', 'warn'],
    ['killed', null, 'Stopped', 'warn'],
    ['internal_error', null, 'Sandbox error', 'error'],
    ['sandbox_unavailable', null, 'Sandbox unavailable', 'error'],
    ['vm_crashed', null, 'Sandbox error', 'error'],
    ['invalid_request', null, 'Failed', 'error'],
  ] as const;
  for (const [status, code, label, tone] of rows) {
    it(`${status} (code ${code}) → ${label}`, () => {
      expect(endStatusText(status, code)).toEqual({ label, tone });
    });
  }

  it('has words for every run status in the protocol', () => {
    for (const status of RUN_STATUSES) expect(endStatusText(status, 0).label).not.toBe('Failed');
  });
});

describe('runStatusText', () => {
  const at = (patch: Partial<RunState>): string => runStatusText({ ...initialRunState, ...patch }).label;
  it('names each phase', () => {
    expect(at({})).toBe('Ready');
    expect(at({ phase: 'submitting' })).toBe('Submitting…');
    expect(at({ phase: 'queued', position: 3 })).toBe('Queued (position 3)');
    expect(at({ phase: 'starting' })).toBe('Starting…');
    expect(at({ phase: 'running' })).toBe('Running…');
    expect(at({ phase: 'running', stopping: true })).toBe('Stopping…');
    expect(at({ phase: 'running', stage: 'compile' })).toBe('Compiling…');
    expect(at({ phase: 'running', stage: 'run', compiled: true })).toBe('Running…');
    expect(at({ phase: 'finished', end: { status: 'compile_error', code: 1, message: null } })).toBe('Compile error');
    expect(at({ phase: 'attaching' })).toBe('Connecting…');
    expect(at({ phase: 'finished', end: { status: 'runtime_error', code: 2, message: null } })).toBe('Error (exit code 2)');
  });
});

describe('formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(850.4)).toBe('850 ms');
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(-1)).toBe('–');
  });
  it('formats memory', () => {
    expect(formatMemory(512)).toBe('512 KB');
    expect(formatMemory(10_240)).toBe('10.0 MB');
    expect(formatMemory(300 * 1024)).toBe('300 MB');
    expect(formatMemory(1.5 * 1024 * 1024)).toBe('1.50 GB');
  });
  it('summarises an exit', () => {
    const facts = exitFacts({ type: 'exit', code: 1, signal: null, status: 'runtime_error', cpuMs: 40, wallMs: 1500, maxRssKb: 9216 });
    expect(facts.map((f) => `${f.label} ${f.value}`)).toEqual(['exit code 1', 'wall 1.50 s', 'CPU 40 ms', 'memory 9.0 MB']);
    const killed = exitFacts({ type: 'exit', code: null, signal: 'SIGKILL', status: 'killed', cpuMs: 0, wallMs: 10, maxRssKb: 0 });
    expect(killed.map((f) => f.label)).toEqual(['signal', 'wall', 'CPU']);
  });
});

describe('compileErrorText', () => {
  const d = (file: string | null, severity: 'error' | 'warning' = 'error') => ({ file, line: 1, column: null, severity, message: 'x', code: null });
  it('says the program did not run, how many errors, and where they are marked', () => {
    expect(compileErrorText([d('main.cpp'), d('main.cpp', 'warning')])).toBe('The program did not run: the compiler reported 1 error, marked in main.cpp.');
    expect(compileErrorText([d('a.go'), d('b.go'), d(null)])).toBe('The program did not run: the compiler reported 3 errors, marked in a.go, b.go.');
    expect(compileErrorText([])).toBe('The program did not run: the compiler stopped with an error (its output is above).');
  });
});
