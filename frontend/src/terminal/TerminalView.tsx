/**
 * A terminal screen (xterm.js, bundled; its fit addon sizes it to the pane)
 * showing one run's or terminal session's output: colours, cursor movement,
 * `\r` progress bars and screen clearing as a terminal does them. What is
 * typed goes to `onData` (the program's terminal echoes it, so everyone in
 * the room sees the same screen). While the run has a terminal size (its
 * `size` events) the screen has exactly that size, so every viewer's screen
 * matches the program's; the pane's own fitted size goes to `onFit`. Ctrl+C
 * with a selection copies it (without one it is the program's Ctrl+C).
 * Loaded lazily: xterm.js is only fetched with the first output pane.
 * @module
 */
import { useEffect, useLayoutEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import type { ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import type { TerminalSize } from '@codecell/protocol';
import type { OutputChunk } from '../run/runState';
import type { ThemeName } from '../editor/themes';
import { EMPTY_CURSOR, nextWrite } from './screenFeed';
import { registerScreen } from './screens';
import type { ScreenCursor } from './screenFeed';

export interface TerminalViewProps {
  /** What the screen shows; another value starts a fresh screen. */
  readonly screenKey: string;
  readonly output: readonly OutputChunk[];
  /** The program's terminal size, or null to fit the pane. */
  readonly size: TerminalSize | null;
  /** Keystrokes; null: the screen is read-only (the caller may not type, or nothing runs). */
  readonly onData: ((data: string) => void) | null;
  /** The size that would fill the pane, whenever it changes. */
  readonly onFit?: (size: TerminalSize) => void;
  readonly theme: ThemeName;
  /** `data-testid` of the screen's element. */
  readonly testId: string;
  /** Accessible name. */
  readonly label: string;
}

const THEMES: Record<ThemeName, ITheme> = {
  light: { background: '#ffffff', foreground: '#1d2330', cursor: '#1d2330', selectionBackground: 'rgba(37, 99, 235, 0.25)', red: '#c0262d', green: '#15803d', yellow: '#a16207', blue: '#2563eb' },
  dark: { background: '#16181d', foreground: '#e4e7ec', cursor: '#e4e7ec', selectionBackground: 'rgba(88, 166, 255, 0.3)', red: '#ff7b72', green: '#3fb950', yellow: '#f0b429', blue: '#58a6ff' },
};

export default function TerminalView({ screenKey, output, size, onData, onFit, theme, testId, label }: TerminalViewProps) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const fit = useRef<FitAddon | null>(null);
  const cursor = useRef<ScreenCursor>(EMPTY_CURSOR);
  const shownKey = useRef<string | null>(null);
  const sizeRef = useRef(size);
  sizeRef.current = size;
  const onDataRef = useRef(onData);
  onDataRef.current = onData;
  const onFitRef = useRef(onFit);
  onFitRef.current = onFit;

  // Made before the page paints, so its fitted size is known before anyone can press Start.
  useLayoutEffect(() => {
    const el = host.current;
    if (!el) return;
    const t = new Terminal({
      fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
      fontSize: 13,
      scrollback: 5000,
      cursorBlink: true,
      theme: THEMES[theme],
      allowProposedApi: false,
    });
    const f = new FitAddon();
    t.loadAddon(f);
    t.open(el);
    term.current = t;
    fit.current = f;
    const copySelection = (e: KeyboardEvent): boolean => {
      const copy = e.type === 'keydown' && (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'c' && t.hasSelection();
      if (!copy) return true;
      void navigator.clipboard?.writeText(t.getSelection()).catch(() => undefined);
      return false;
    };
    t.attachCustomKeyEventHandler(copySelection);
    const data = t.onData((d) => onDataRef.current?.(d));
    let last = '';
    const refit = (): void => {
      const dims = f.proposeDimensions();
      if (!dims || !Number.isFinite(dims.cols) || !Number.isFinite(dims.rows) || dims.cols < 2 || dims.rows < 1) return;
      const proposed = { cols: dims.cols, rows: dims.rows };
      if (sizeRef.current === null) f.fit();
      const key = `${proposed.cols}x${proposed.rows}`;
      if (key !== last) {
        last = key;
        onFitRef.current?.(proposed);
      }
    };
    const observer = new ResizeObserver(() => refit());
    observer.observe(el);
    // The font's cell size is known only once the terminal has rendered: fit then too.
    const rendered = t.onRender(() => {
      if (last === '') refit();
      else rendered.dispose();
    });
    refit();
    const unregister = registerScreen(testId, {
      text: () => {
        const lines: string[] = [];
        const buffer = t.buffer.active;
        for (let y = 0; y < buffer.length; y++) {
          const line = buffer.getLine(y);
          const text = line?.translateToString(true) ?? '';
          // A line the terminal wrapped continues the one before it.
          if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
          else lines.push(text);
        }
        while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
        return lines.join('\n');
      },
      size: () => ({ cols: t.cols, rows: t.rows }),
      scroll: () => ({ viewportY: t.buffer.active.viewportY, baseY: t.buffer.active.baseY }),
      type: (data) => t.input(data, true),
    });
    return () => {
      unregister();
      rendered.dispose();
      observer.disconnect();
      data.dispose();
      t.dispose();
      term.current = null;
      fit.current = null;
      cursor.current = EMPTY_CURSOR;
      shownKey.current = null;
    };
    // The terminal is made once; the theme has its own effect.
  }, []);

  useEffect(() => {
    if (term.current) term.current.options.theme = THEMES[theme];
  }, [theme]);

  useEffect(() => {
    const t = term.current;
    if (t) t.options.disableStdin = onData === null;
  }, [onData]);

  // The program's size first, then what it printed (printed at that size).
  useLayoutEffect(() => {
    const t = term.current;
    if (!t) return;
    if (size !== null && (t.cols !== size.cols || t.rows !== size.rows)) t.resize(size.cols, size.rows);
    else if (size === null) fit.current?.fit();
    if (shownKey.current !== screenKey) {
      t.reset();
      cursor.current = EMPTY_CURSOR;
      shownKey.current = screenKey;
    }
    const next = nextWrite(cursor.current, output);
    if (next.reset) t.reset();
    cursor.current = next.cursor;
    if (next.text !== '') t.write(next.text);
  }, [screenKey, output, size]);

  return <div className="terminal-host" ref={host} data-testid={testId} aria-label={label} data-cols={size?.cols} data-rows={size?.rows} />;
}
