/**
 * What a terminal screen (xterm.js) must be written next for a run's output:
 * the part of each chunk it has not written yet, a TTY run's bytes as they
 * are, pipe text with `\n` as a new line (`\r\n`), stderr in red, the local
 * echo of a stdin line dimmed, stage dividers as faint lines and the notes of
 * files a run wrote in cyan. Pure, so
 * replays, merges and trims are unit-tested.
 * @module
 */
import type { OutputChunk } from '../run/runState';

/** How far a screen got: the offset in the run's appended characters it wrote up to. */
export interface ScreenCursor {
  readonly written: number;
}

export const EMPTY_CURSOR: ScreenCursor = Object.freeze({ written: 0 });

const RED = '\x1b[31m';
const CYAN = '\x1b[36m';
const DIM = '\x1b[2m';
const RESET_FG = '\x1b[39m';
const RESET_DIM = '\x1b[22m';

/** A chunk's text as the screen takes it. */
function render(chunk: OutputChunk, text: string): string {
  if (chunk.raw) return text;
  const lines = text.replace(/\r?\n/g, '\r\n');
  switch (chunk.kind) {
    case 'stdout':
      return lines;
    case 'stderr':
      return `${RED}${lines}${RESET_FG}`;
    case 'stdin':
      return `${DIM}${lines}${RESET_DIM}`;
    case 'file':
      return `${CYAN}${lines}${RESET_FG}`;
    case 'stage':
      return `${DIM}── ${text} ──${RESET_DIM}\r\n`;
  }
}

/**
 * The text to write for `output` after `cursor`, and the cursor after it.
 * `reset` says the screen must be cleared (the output was cleared); a screen
 * showing another run starts again from {@link EMPTY_CURSOR}.
 */
export function nextWrite(cursor: ScreenCursor, output: readonly OutputChunk[]): { text: string; cursor: ScreenCursor; reset: boolean } {
  let written = cursor.written;
  if (output.length === 0) return { text: '', cursor: EMPTY_CURSOR, reset: written > 0 };
  let text = '';
  for (const chunk of output) {
    const end = chunk.start + chunk.text.length;
    if (end <= written) continue;
    text += render(chunk, chunk.text.slice(Math.max(0, written - chunk.start)));
    written = end;
  }
  return { text, cursor: { written }, reset: false };
}
