/**
 * The right-hand pane's tabs: Output (the room's runs), Shell (the room's
 * shared bash) and Console (its Python or Node REPL). A tab whose session is
 * open in the room says so with a dot.
 * @module
 */
import { useState } from 'react';
import type { ReactNode } from 'react';
import type { OpenTerminal, TerminalProgram, TerminalSize } from '@codecell/protocol';
import type { RunController } from '../run/RunController';
import { TERMINAL_NAMES, TerminalPane } from './TerminalPane';
import type { ThemeName } from './theme';

type Tab = 'output' | 'shell' | 'console';
const CONSOLES: readonly TerminalProgram[] = ['python', 'node'];

export interface SidePaneProps {
  readonly output: ReactNode;
  readonly terminals: Readonly<Record<TerminalProgram, RunController>>;
  /** The room's open terminal sessions. */
  readonly open: readonly OpenTerminal[];
  readonly canRun: boolean;
  readonly theme: ThemeName;
  readonly onFit: (size: TerminalSize) => void;
}

export function SidePane({ output, terminals, open, canRun, theme, onFit }: SidePaneProps) {
  const [tab, setTab] = useState<Tab>('output');
  const [consoleProgram, setConsoleProgram] = useState<TerminalProgram>('python');
  const openOf = (p: TerminalProgram): OpenTerminal | null => open.find((t) => t.program === p) ?? null;
  const tabButton = (id: Tab, label: string, live: boolean) => (
    <button type="button" role="tab" aria-selected={tab === id} className={`side-tab${tab === id ? ' side-tab-active' : ''}`} data-testid={`tab-${id}`} onClick={() => setTab(id)}>
      {label}
      {live ? <span className="side-tab-live" aria-label="open in this room" /> : null}
    </button>
  );
  const program: TerminalProgram = tab === 'shell' ? 'bash' : consoleProgram;
  return (
    <div className="side-pane">
      <div className="side-tabs" role="tablist" aria-label="Output, shell and console">
        {tabButton('output', 'Output', false)}
        {tabButton('shell', 'Shell', openOf('bash') !== null)}
        {tabButton('console', 'Console', CONSOLES.some((p) => openOf(p) !== null))}
        {tab === 'console' ? (
          <span className="side-tab-choice" role="radiogroup" aria-label="Console language">
            {CONSOLES.map((p) => (
              <button key={p} type="button" role="radio" aria-checked={consoleProgram === p} className={`btn btn-ghost btn-small${consoleProgram === p ? ' active' : ''}`} data-testid={`console-${p}`} onClick={() => setConsoleProgram(p)}>
                {TERMINAL_NAMES[p].title}
              </button>
            ))}
          </span>
        ) : null}
      </div>
      {tab === 'output' ? (
        output
      ) : (
        <section className="pane output-pane" aria-label={TERMINAL_NAMES[program].title}>
          <TerminalPane key={program} program={program} controller={terminals[program]} open={openOf(program)} canRun={canRun} theme={theme} onFit={onFit} />
        </section>
      )}
    </div>
  );
}
