import { describe, expect, it } from 'vitest';
import type { StreamMessage } from '@codecell/protocol';
import { acceptsStdin, initialRunState, isActive, MAX_OUTPUT_CHARS, runReducer } from './runState';
import type { RunAction, RunState } from './runState';

const reduce = (actions: RunAction[], from: RunState = initialRunState): RunState => actions.reduce(runReducer, from);
const msg = (message: StreamMessage): RunAction => ({ type: 'message', message });
const ev = (seq: number, event: Extract<StreamMessage, { type: 'event' }>['event']): RunAction =>
  msg({ type: 'event', seq, event });
const hello: RunAction = msg({ type: 'hello', protocolVersion: 1, jobId: 'j1', startedBy: null, truncated: false });
const exit = { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 20, wallMs: 130, maxRssKb: 9000 } as const;

describe('runReducer', () => {
  it('walks submit → queued → starting → running → finished', () => {
    let s = reduce([{ type: 'submit' }]);
    expect(s.phase).toBe('submitting');
    expect(isActive(s)).toBe(true);
    s = reduce([{ type: 'submitted', jobId: 'j1', position: 2 }, hello], s);
    expect(s).toMatchObject({ phase: 'queued', position: 2, jobId: 'j1', connection: 'open' });
    s = reduce([msg({ type: 'queued', position: 1 })], s);
    expect(s.position).toBe(1);
    s = reduce([msg({ type: 'queued', position: 0 })], s);
    expect(s.phase).toBe('starting');
    s = reduce([ev(0, { type: 'start', jobId: 'j1', vmId: 'vm', at: 1000 })], s);
    expect(s).toMatchObject({ phase: 'running', startedAt: 1000 });
    s = reduce([ev(1, { type: 'stdout', data: 'hi\n' }), ev(2, exit)], s);
    expect(s.phase).toBe('running');
    s = reduce([msg({ type: 'end', status: 'ok', code: 0, message: null })], s);
    expect(s).toMatchObject({ phase: 'finished', exit, end: { status: 'ok', code: 0 }, connection: 'none' });
    expect(isActive(s)).toBe(false);
  });

  it('starts directly when the queue position is 0', () => {
    expect(reduce([{ type: 'submit' }, { type: 'submitted', jobId: 'j', position: 0 }]).phase).toBe('starting');
  });

  it('merges consecutive output of one stream and keeps stdout/stderr apart', () => {
    const s = reduce([
      ev(0, { type: 'stdout', data: 'a' }),
      ev(1, { type: 'stdout', data: 'b\n' }),
      ev(2, { type: 'stderr', data: 'oops\n' }),
      ev(3, { type: 'stdout', data: 'c' }),
    ]);
    expect(s.output.map((c) => [c.kind, c.text])).toEqual([
      ['stdout', 'ab\n'],
      ['stderr', 'oops\n'],
      ['stdout', 'c'],
    ]);
    expect(new Set(s.output.map((c) => c.id)).size).toBe(3);
  });

  it('skips events replayed after a reconnect (seq already applied)', () => {
    const once = reduce([ev(0, { type: 'stdout', data: 'x\n' }), ev(1, { type: 'stdout', data: 'y\n' })]);
    const replayed = reduce([hello, ev(0, { type: 'stdout', data: 'x\n' }), ev(1, { type: 'stdout', data: 'y\n' }), ev(2, { type: 'stdout', data: 'z\n' })], once);
    expect(replayed.output.map((c) => c.text).join('')).toBe('x\ny\nz\n');
  });

  it('re-attaches after a reload: attaching, then whatever the replay says', () => {
    let s = reduce([{ type: 'attach', jobId: 'j9' }]);
    expect(s).toMatchObject({ phase: 'attaching', jobId: 'j9' });
    s = reduce([hello], s);
    expect(s.phase).toBe('starting');
    s = reduce([ev(0, { type: 'start', jobId: 'j9', vmId: 'v', at: 1 }), ev(1, { type: 'stdout', data: 'before reload\n' })], s);
    expect(s.phase).toBe('running');
  });

  it('does not go back to queued once running', () => {
    const s = reduce([ev(0, { type: 'start', jobId: 'j', vmId: 'v', at: 1 }), msg({ type: 'queued', position: 3 })]);
    expect(s.phase).toBe('running');
  });

  it('keeps the error event of a run that could not run', () => {
    const s = reduce([ev(0, { type: 'error', code: 'vm_crashed', message: 'the VM stopped answering' })]);
    expect(s.failure).toEqual({ code: 'vm_crashed', message: 'the VM stopped answering' });
    expect(s.output).toEqual([]);
  });

  it('remembers that the replay buffer was truncated', () => {
    const s = reduce([msg({ type: 'hello', protocolVersion: 1, jobId: 'j', startedBy: 'ada', truncated: true })]);
    expect(s).toMatchObject({ truncated: true, startedBy: 'ada' });
  });

  it('trims the oldest output past MAX_OUTPUT_CHARS', () => {
    const big = 'x'.repeat(MAX_OUTPUT_CHARS - 10);
    const s = reduce([ev(0, { type: 'stderr', data: big }), ev(1, { type: 'stdout', data: 'y'.repeat(20) })]);
    expect(s.outputChars).toBe(MAX_OUTPUT_CHARS);
    expect(s.trimmed).toBe(true);
    expect(s.output[0]?.text.length).toBe(MAX_OUTPUT_CHARS - 20);
    expect(s.output[1]?.text).toBe('y'.repeat(20));
  });

  it('handles stdin: echo, EOF, and only while the program can read', () => {
    let s = reduce([{ type: 'submit' }, { type: 'submitted', jobId: 'j', position: 0 }]);
    expect(acceptsStdin(s)).toBe(true);
    s = reduce([{ type: 'stdinEcho', text: 'Ada\n' }, { type: 'stdinClosed' }], s);
    expect(s.output[0]).toMatchObject({ kind: 'stdin', text: 'Ada\n' });
    expect(acceptsStdin(s)).toBe(false);
    expect(acceptsStdin(reduce([{ type: 'submit' }]))).toBe(false);
  });

  it('keeps the error of a failed submit and returns to idle', () => {
    const s = reduce([{ type: 'submit' }, { type: 'submitFailed', error: { code: 'sandbox_unavailable', message: 'down' } }]);
    expect(s).toMatchObject({ phase: 'idle', error: { code: 'sandbox_unavailable' } });
    expect(reduce([{ type: 'dismissError' }], s).error).toBeNull();
    expect(reduce([{ type: 'submit' }], s).error).toBeNull();
  });

  it('quietly forgets an expired run it was re-attaching to', () => {
    const s = reduce([{ type: 'attach', jobId: 'old' }, { type: 'jobGone', message: 'gone' }]);
    expect(s).toMatchObject({ phase: 'idle', jobId: null, error: null });
  });

  it('reports a run that vanished while shown', () => {
    const s = reduce([
      { type: 'submit' },
      { type: 'submitted', jobId: 'j', position: 0 },
      ev(0, { type: 'stdout', data: 'partial\n' }),
      { type: 'jobGone', message: 'gone' },
    ]);
    expect(s).toMatchObject({ phase: 'idle', error: { code: 'not_found', message: 'gone' } });
    expect(s.output[0]?.text).toBe('partial\n');
  });

  it('ignores connection changes once finished', () => {
    const done = reduce([msg({ type: 'end', status: 'killed', code: null, message: null })]);
    expect(runReducer(done, { type: 'connection', state: 'reconnecting' })).toBe(done);
  });

  it('issue 10: compiled runs get stage dividers and the compiler\'s diagnostics; a fresh run clears them', () => {
    const diag = { file: 'main.cpp', line: 3, column: 5, severity: 'error', message: "expected ';'", code: null } as const;
    let s = reduce([
      hello,
      ev(0, { type: 'start', jobId: 'j1', vmId: 'vm', at: 1 }),
      ev(1, { type: 'stage', name: 'compile' }),
    ]);
    expect(s).toMatchObject({ stage: 'compile', compiled: true });
    s = reduce([ev(2, { type: 'stderr', data: 'warning\n' }), ev(3, { type: 'diagnostics', diagnostics: [diag] }), ev(4, { type: 'stage', name: 'run' }), ev(5, { type: 'stdout', data: 'hi\n' })], s);
    expect(s.output.map((c) => [c.kind, c.text])).toEqual([
      ['stage', 'Compiling…'],
      ['stderr', 'warning\n'],
      ['stage', 'Running…'],
      ['stdout', 'hi\n'],
    ]);
    expect(s).toMatchObject({ stage: 'run', diagnostics: [diag] });
    expect(reduce([{ type: 'submit' }], s)).toMatchObject({ diagnostics: [], stage: null, compiled: false, output: [] });
  });

  it('issue 10: a run stage alone (Python) adds no divider; two dividers in a row stay two lines', () => {
    const py = reduce([ev(0, { type: 'stage', name: 'run' }), ev(1, { type: 'stdout', data: 'x\n' })]);
    expect(py.output.map((c) => c.kind)).toEqual(['stdout']);
    expect(py.stage).toBe('run');
    const quiet = reduce([ev(0, { type: 'stage', name: 'compile' }), ev(1, { type: 'stage', name: 'run' })]);
    expect(quiet.output.map((c) => c.text)).toEqual(['Compiling…', 'Running…']);
  });

  it('issue 12: a screen replay starts the output afresh with the screen, once; a page that has its events skips it', () => {
    const before = reduce([
      { type: 'attach', jobId: 'j1' },
      msg({ type: 'hello', protocolVersion: 1, jobId: 'j1', startedBy: null, truncated: true }),
      ev(0, { type: 'start', jobId: 'j1', vmId: 'vm', at: 1 }),
      ev(1, { type: 'size', cols: 100, rows: 30 }),
    ]);
    const s = reduce([msg({ type: 'screen', seq: 40, cols: 90, rows: 20, data: '\x1b[1mSCREEN' }), ev(41, { type: 'stdout', data: ' more' })], before);
    expect(s.output.map((c) => [c.kind, c.raw, c.text])).toEqual([['stdout', true, '\x1b[1mSCREEN more']]);
    expect(s).toMatchObject({ lastSeq: 41, tty: { cols: 90, rows: 20 }, truncated: true, screens: 1 });
    // A reconnect replays the same screen: the page already has event 40 and everything after.
    const again = reduce([msg({ type: 'screen', seq: 40, cols: 90, rows: 20, data: '\x1b[1mSCREEN' }), ev(41, { type: 'stdout', data: ' more' })], s);
    expect(again).toBe(s);
    // A page that missed output gets the newer screen: its terminal starts again (a new screen key).
    const later = reduce([msg({ type: 'screen', seq: 90, cols: 90, rows: 20, data: 'NEWER' })], s);
    expect(later.output.map((c) => c.text)).toEqual(['NEWER']);
    expect(later.screens).toBe(2);
  });

  it('issue 12: a TTY run keeps its size and its run stage output raw; its compile stage (pipes) is not', () => {
    const s = reduce([
      { type: 'submitted', jobId: 'j1', position: 0 },
      hello,
      ev(0, { type: 'start', jobId: 'j1', vmId: 'vm', at: 1 }),
      ev(1, { type: 'size', cols: 100, rows: 30 }),
      ev(2, { type: 'stage', name: 'compile', warm: false }),
      ev(3, { type: 'stderr', data: 'warning\n' }),
      ev(4, { type: 'stage', name: 'run', warm: false }),
      ev(5, { type: 'stdout', data: '\x1b[31mred\x1b[0m\r\n' }),
      ev(6, { type: 'stdout', data: '\r50%' }),
      ev(7, { type: 'size', cols: 80, rows: 20 }),
    ]);
    expect(s.tty).toEqual({ cols: 80, rows: 20 });
    expect(s.output.map((c) => [c.kind, c.raw, c.text])).toEqual([
      ['stage', false, 'Compiling…'],
      ['stderr', false, 'warning\n'],
      ['stage', false, 'Running…'],
      ['stdout', true, '\x1b[31mred\x1b[0m\r\n\r50%'],
    ]);
    // Where each chunk starts in everything appended (what a screen has written).
    expect(s.output.map((c) => c.start)).toEqual([0, 10, 18, 26]);
    expect(s.appended).toBe(26 + s.output[3]!.text.length);
  });

  it('issue 12: notes of files a TTY run wrote wait for its exit (its screen is the program\'s while it runs)', () => {
    const file = { type: 'file', path: 'plot.png', size: 2048, encoding: 'base64', content: '', truncated: false } as const;
    const s = reduce([
      { type: 'submitted', jobId: 'j1', position: 0 },
      hello,
      ev(0, { type: 'start', jobId: 'j1', vmId: 'vm', at: 1 }),
      ev(1, { type: 'size', cols: 80, rows: 24 }),
      ev(2, { type: 'stdout', data: 'saving\r\n' }),
      ev(3, file),
    ]);
    expect(s.output.map((c) => c.kind)).toEqual(['stdout']);
    const done = reduce([ev(4, exit)], s);
    expect(done.output.map((c) => [c.kind, c.raw])).toEqual([
      ['stdout', true],
      ['file', false],
    ]);
    expect(done.output[1]?.text).toBe('\n→ plot.png (2.0 KiB)\n');
    // On pipes a note comes at once.
    const pipes = reduce([{ type: 'submitted', jobId: 'j2', position: 0 }, hello, ev(0, { type: 'start', jobId: 'j2', vmId: 'vm', at: 1 }), ev(1, file)]);
    expect(pipes.output.map((c) => c.kind)).toEqual(['file']);
  });
});
