/**
 * The screen of a TTY run or terminal session, as a terminal shows it (issue
 * 12): its output parsed by a headless xterm.js of the program's size, so a
 * late joiner of a run whose early output the replay dropped gets the screen
 * (scrollback included) instead of the last bytes, which may lack the escape
 * sequences that set it up (colours, the alternate screen of a full-screen
 * program, the cursor). Fed in `seq` order; compile-stage output (pipes) is
 * drawn as the page draws it.
 * @module
 */
import { createRequire } from 'node:module';
import headless from '@xterm/headless';
import type { RunEvent, StreamMessage, TerminalSize } from '@codecell/protocol';

/** The part of @xterm/addon-serialize used here (its own typings pull in the DOM's, for the browser's xterm). */
interface Serializer extends headless.ITerminalAddon {
  serialize(options?: { scrollback?: number }): string;
}
const { SerializeAddon } = createRequire(import.meta.url)('@xterm/addon-serialize') as { SerializeAddon: new () => Serializer };

/** Lines of scrollback the model keeps (and a screen replay carries) above the screen, at most. */
export const SCREEN_SCROLLBACK_LINES = 1_000;
/** Cells (screen and scrollback, ~12 bytes each) a model keeps at most: a wide terminal keeps fewer scrollback lines (a screen itself is always kept whole, 1000 x 1000 at most). */
export const SCREEN_MAX_CELLS = 256_000;

/** The scrollback lines a terminal of `size` keeps within {@link SCREEN_MAX_CELLS}. */
export function scrollbackFor(size: TerminalSize): number {
  return Math.max(0, Math.min(SCREEN_SCROLLBACK_LINES, Math.floor(SCREEN_MAX_CELLS / size.cols) - size.rows));
}

/**
 * Output the model takes at most: a burst of this many bytes, refilled at
 * {@link SCREEN_RATE_BYTES_PER_S}. Parsing costs the gateway's one thread
 * (~4-9 MiB/s here), so a program that prints faster than a person reads
 * (`yes`, a huge `cat`) loses its model and late joiners get the kept bytes.
 */
export const SCREEN_BURST_BYTES = 4 * 1024 * 1024;
export const SCREEN_RATE_BYTES_PER_S = 512 * 1024;

/** A screen replay: the bytes that draw the screen after every event up to `seq` on a fresh terminal. */
export interface ScreenSnapshot {
  readonly seq: number;
  readonly cols: number;
  readonly rows: number;
  readonly data: string;
}

const RED = '\x1b[31m';
const RESET_FG = '\x1b[39m';

export class ScreenModel {
  readonly #term: headless.Terminal;
  readonly #serializer: Serializer;
  /** Written but not parsed yet, oldest first (xterm parses whole chunks, a tick later). */
  readonly #unparsed: string[] = [];
  #pendingResizes = 0;
  #size: TerminalSize;
  #compiling = false;
  #lastOutputSeq = -1;
  #disposed = false;
  /** Output it may still take now (the budget's bucket), and when the bucket was last filled. */
  #allowance = SCREEN_BURST_BYTES;
  #filledAt: number;
  readonly #now: () => number;

  constructor(size: TerminalSize, now: () => number = Date.now) {
    this.#now = now;
    this.#filledAt = now();
    this.#size = size;
    this.#term = new headless.Terminal({ cols: size.cols, rows: size.rows, scrollback: scrollbackFor(size), allowProposedApi: true, logLevel: 'off' });
    this.#serializer = new SerializeAddon();
    this.#term.loadAddon(this.#serializer);
  }

  /** Takes the run's next event. */
  observe(seq: number, event: RunEvent): void {
    if (this.#disposed) return;
    switch (event.type) {
      case 'size':
        return this.#resize({ cols: event.cols, rows: event.rows });
      case 'stage':
        this.#compiling = event.name === 'compile';
        return;
      case 'stdout':
      case 'stderr': {
        // A compile stage runs on pipes: its text as the page draws it (stderr red, `\n` a new line).
        const text = this.#compiling ? colour(event.type, event.data.replace(/\r?\n/g, '\r\n')) : event.data;
        this.#lastOutputSeq = seq;
        this.#write(text);
        return;
      }
      default:
        return;
    }
  }

  /**
   * The screen now, or null when there is nothing to draw or a resize is
   * still on its way through the parser (the replay then keeps the bytes).
   */
  snapshot(): ScreenSnapshot | null {
    if (this.#disposed || this.#lastOutputSeq < 0 || this.#pendingResizes > 0) return null;
    const data = this.#serializer.serialize({ scrollback: this.#term.options.scrollback ?? 0 }) + this.#unparsed.join('');
    return { seq: this.#lastOutputSeq, cols: this.#size.cols, rows: this.#size.rows, data };
  }

  /** False once the output outran the model's budget (or the parser refused it): it is freed, and snapshots are null. */
  get alive(): boolean {
    return !this.#disposed;
  }

  /** Frees the terminal. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#unparsed.length = 0;
    this.#term.dispose();
  }

  #write(text: string): void {
    if (text === '') return;
    const now = this.#now();
    this.#allowance = Math.min(SCREEN_BURST_BYTES, this.#allowance + ((now - this.#filledAt) / 1000) * SCREEN_RATE_BYTES_PER_S);
    this.#filledAt = now;
    this.#allowance -= text.length;
    if (this.#allowance < 0) return this.dispose();
    this.#unparsed.push(text);
    try {
      this.#term.write(text, () => void this.#unparsed.shift());
    } catch {
      this.dispose(); // xterm refuses data past its own backlog cap: never the run's problem
    }
  }

  /** In order with the output: applied once what came before it was parsed. */
  #resize(size: TerminalSize): void {
    this.#size = size;
    this.#pendingResizes++;
    this.#term.write('', () => {
      this.#pendingResizes--;
      if (this.#disposed) return;
      try {
        this.#term.resize(size.cols, size.rows);
        this.#term.options.scrollback = scrollbackFor(size);
      } catch {
        this.dispose();
      }
    });
  }
}

function colour(kind: 'stdout' | 'stderr', text: string): string {
  return kind === 'stderr' ? `${RED}${text}${RESET_FG}` : text;
}

/**
 * A replay with the screen in place of the output it stands for: the output
 * events up to the screen's `seq` are left out, the screen goes where the
 * last of them was; every other message stays where it was.
 */
export function withScreen(replay: readonly StreamMessage[], screen: ScreenSnapshot): StreamMessage[] {
  const out: StreamMessage[] = [];
  let placed = false;
  const place = (): void => {
    if (!placed) out.push({ type: 'screen', ...screen });
    placed = true;
  };
  for (const msg of replay) {
    if (msg.type === 'event' && msg.seq > screen.seq) place();
    if (msg.type === 'end') place();
    const output = msg.type === 'event' && msg.seq <= screen.seq && (msg.event.type === 'stdout' || msg.event.type === 'stderr');
    if (!output) out.push(msg);
  }
  place();
  return out;
}
