import { describe, expect, it } from 'vitest';
import type { OutputChunk } from '../run/runState';
import { EMPTY_CURSOR, nextWrite } from './screenFeed';

const chunk = (o: Partial<OutputChunk> & { text: string; start: number }): OutputChunk => ({ id: o.start, kind: 'stdout', raw: true, ...o });

describe('screen feed', () => {
  it('writes a TTY run as it is, and only what is new after a merge', () => {
    const a = nextWrite(EMPTY_CURSOR, [chunk({ text: '\r[#  ] 33%', start: 0 })]);
    expect(a.text).toBe('\r[#  ] 33%');
    const b = nextWrite(a.cursor, [chunk({ text: '\r[#  ] 33%\r[## ] 66%\x1b[31m!', start: 0 })]);
    expect(b.text).toBe('\r[## ] 66%\x1b[31m!');
    expect(nextWrite(b.cursor, [chunk({ text: '\r[#  ] 33%\r[## ] 66%\x1b[31m!', start: 0 })]).text).toBe('');
  });

  it('turns pipe text into terminal lines: stderr red, a stage a faint divider, the stdin echo dim', () => {
    const out = nextWrite(EMPTY_CURSOR, [
      chunk({ kind: 'stage', text: 'Compiling…', start: 0, raw: false }),
      chunk({ kind: 'stderr', text: 'warning\n', start: 10, raw: false }),
      chunk({ kind: 'stdout', text: 'a\nb\r\n', start: 18, raw: false }),
      chunk({ kind: 'stdin', text: 'typed\n', start: 23, raw: false }),
    ]);
    expect(out.text).toBe('\x1b[2m── Compiling… ──\x1b[22m\r\n\x1b[31mwarning\r\n\x1b[39ma\r\nb\r\n\x1b[2mtyped\r\n\x1b[22m');
  });

  it('skips what a trim dropped after it was written, and resets when the output was cleared', () => {
    const a = nextWrite(EMPTY_CURSOR, [chunk({ text: 'abcdef', start: 0 })]);
    // The page trimmed the front of the chunk and appended more.
    expect(nextWrite(a.cursor, [chunk({ text: 'defgh', start: 3 })]).text).toBe('gh');
    const cleared = nextWrite(a.cursor, []);
    expect(cleared).toEqual({ text: '', cursor: EMPTY_CURSOR, reset: true });
    expect(nextWrite(EMPTY_CURSOR, []).reset).toBe(false);
    // After a clear, new chunks start later in the run's stream: all of them are written.
    expect(nextWrite(cleared.cursor, [chunk({ text: 'new', start: 6 })]).text).toBe('new');
  });
});
