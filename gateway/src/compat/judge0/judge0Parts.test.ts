import { describe, expect, it } from 'vitest';
import { Judge0Status } from '@codecell/protocol';
import type { RunOutcome, StageOutcome } from '../runOutcome.js';
import { splitArguments } from './judge0Request.js';
import { judge0Strip, judge0Verdict, statusOfSignal } from './judge0Result.js';

const stage = (o: Partial<StageOutcome> & { out?: string } = {}): StageOutcome => {
  const bytes = o.out === undefined ? [] : [Buffer.from(o.out)];
  return { stdout: bytes, stderr: [], output: bytes, code: 0, signal: null, cpuMs: 10, wallMs: 20, maxRssKb: 1000, lastStream: null, ...o };
};
const outcome = (o: Partial<RunOutcome>): RunOutcome => ({ compile: null, run: stage(), endedIn: 'run', status: 'ok', code: 0, message: null, ...o });
const criteria = { cpuTimeLimit: 1, expectedOutput: null, redirectStderrToStdout: false };

describe('Judge0 parts (J2, J4)', () => {
  it('J2 splits command_line_arguments as the shell Judge0 writes would, dropping its forbidden characters', () => {
    expect(splitArguments('')).toEqual([]);
    expect(splitArguments('  a  b\tc ')).toEqual(['a', 'b', 'c']);
    expect(splitArguments(`"two words" 'single $x' esc\\ aped ""`)).toEqual(['two words', 'single x', 'esc aped', '']);
    expect(splitArguments('a;rm -rf /|b`c`&d>e<f')).toEqual(['arm', '-rf', '/bcdef']);
    expect(splitArguments('"unterminated')).toBeNull();
  });

  it('J4 strips trailing blanks of each line and of the end, as Judge0 compares', () => {
    expect(judge0Strip(Buffer.from('a  \nb\t\n\n'))).toBe('a\nb');
    expect(judge0Strip(Buffer.from(' a'))).toBe(' a');
  });

  it('J4 maps signals to 7-10, others to 12', () => {
    expect([11, 25, 8, 6, 15, null].map(statusOfSignal)).toEqual([7, 8, 9, 10, 12, 12]);
  });

  it('J4 a compile that timed out is 6 with Judge0\'s message; one the run never started is 13', () => {
    const compileTimeout = judge0Verdict(outcome({ compile: stage({ out: 'partial' }), run: null, endedIn: 'compile', status: 'timeout' }), criteria);
    expect(compileTimeout).toMatchObject({ status_id: Judge0Status.compilationError, compile_output_b64: Buffer.from('Compilation time limit exceeded.').toString('base64'), time: null, memory: null });
    expect(judge0Verdict(outcome({ run: null, endedIn: null, status: 'sandbox_unavailable', message: 'the sandbox is down' }), criteria)).toMatchObject({ status_id: 13, message: 'the sandbox is down' });
  });

  it('J4 CPU time over cpu_time_limit is 5 even when the program exited cleanly; a clean run with compile warnings keeps them', () => {
    expect(judge0Verdict(outcome({ run: stage({ cpuMs: 1001 }) }), criteria).status_id).toBe(5);
    const warned = judge0Verdict(outcome({ compile: stage({ out: 'warning: x' }), run: stage({ out: 'ok' }) }), criteria);
    expect(warned).toMatchObject({ status_id: 3, compile_output_b64: Buffer.from('warning: x').toString('base64'), stdout_b64: Buffer.from('ok').toString('base64'), time: '0.010', wall_time: '0.020', memory: 1000 });
  });
});
