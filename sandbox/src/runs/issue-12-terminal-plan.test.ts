/**
 * Issue 12: plans of TTY runs and terminal sessions.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { codeOf } from '../../test/runHelpers.js';
import { planRun } from './runPlan.js';
import { TERMINAL_COMMANDS, TERMINAL_TERM, planTerminal } from './terminalPlan.js';

const config = loadConfig({ TERMINAL_IDLE_MS: '60000', MAX_TERMINAL_IDLE_MS: '120000', MAX_MEM_MB: '256' });

describe('issue 12: terminal plans', () => {
  it('a TTY run keeps its stages; the run stage (not the compile) gets $TERM', () => {
    const c = planRun({ language: 'c', source: 'int main(){}', tty: { cols: 100, rows: 30 } }, config);
    expect(c.tty).toEqual({ cols: 100, rows: 30 });
    expect(c.stages.map((s) => [s.name, s.env['TERM']])).toEqual([
      ['compile', undefined],
      ['run', TERMINAL_TERM],
    ]);
    const pipes = planRun({ language: 'py', source: '' }, config);
    expect(pipes.tty).toBeNull();
    expect(pipes.stages[0]?.env['TERM']).toBeUndefined();
  });

  it('a terminal session has the run limits, no files, an idle timeout and a pty', () => {
    const p = planTerminal({ sessionId: 'r', program: 'bash' }, config);
    expect(p).toMatchObject({ terminal: true, idleTimeoutMs: 60_000, timeoutMs: 60_000, memoryMb: config.DEFAULT_MEM_MB, files: [], stdinOpen: true, sessionId: 'r', tty: { cols: 80, rows: 24 } });
    expect(p.stages).toHaveLength(1);
    expect(p.stages[0]?.argv).toEqual(TERMINAL_COMMANDS.bash.argv);
    expect(planTerminal({ sessionId: 'r', program: 'python', size: { cols: 50, rows: 10 }, limits: { idleTimeoutMs: 5000, memoryMb: 64 } }, config)).toMatchObject({ idleTimeoutMs: 5000, memoryMb: 64, tty: { cols: 50, rows: 10 } });
    // The room's files go in first (checked as a run's are).
    expect(planTerminal({ sessionId: 'r', program: 'bash', files: [{ path: 'main.py', content: 'print(1)' }] }, config).files).toEqual([{ path: 'main.py', content: Buffer.from('print(1)') }]);
    expect(codeOf(() => planTerminal({ sessionId: 'r', program: 'bash', files: [{ path: 'a', content: '' }, { path: 'a', content: '' }] }, config))).toBe('invalid_path');
  });

  it('refuses limits above the maxima, naming the variable', () => {
    expect(codeOf(() => planTerminal({ sessionId: 'r', program: 'node', limits: { idleTimeoutMs: 120_001 } }, config))).toBe('limit_exceeded');
    expect(() => planTerminal({ sessionId: 'r', program: 'node', limits: { memoryMb: 257 } }, config)).toThrow(/MAX_MEM_MB/);
    expect(() => loadConfig({ TERMINAL_IDLE_MS: '7200000' })).toThrow(/TERMINAL_IDLE_MS/);
  });
});
