/**
 * The terminal screens on the page, by their test id, as text: for tests and
 * the browser console (`window.codecell.screen(id)`). Kept apart from
 * TerminalView so reading them does not load xterm.js.
 * @module
 */

/** What a screen tells about itself. */
export interface ScreenReader {
  /** Every line of its buffer (scrollback included; wrapped lines joined), trailing spaces trimmed, joined with `\n`. */
  text(): string;
  /** Its size in cells. */
  size(): { cols: number; rows: number };
  /** The first line shown (`viewportY`) and the first line of the live screen (`baseY`): scrolled up while the first is less. */
  scroll(): { viewportY: number; baseY: number };
  /** Types `data` as if from the keyboard (what the program then gets, if the screen takes input). */
  type(data: string): void;
}

const screens = new Map<string, ScreenReader>();

/** Registers a screen; call the result when it goes. */
export function registerScreen(id: string, reader: ScreenReader): () => void {
  screens.set(id, reader);
  return () => {
    if (screens.get(id) === reader) screens.delete(id);
  };
}

/** The screen with this id, if it is on the page. */
export function screenOf(id: string): ScreenReader | null {
  return screens.get(id) ?? null;
}
