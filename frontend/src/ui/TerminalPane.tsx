/**
 * A terminal session tab (issue 12): the room's shared shell, or its Python
 * or Node console. Everyone in the room sees the same screen live; those
 * allowed to run type into it, start it and end it. A session is the room's
 * until it ends (exit, Stop, or its idle timeout).
 * @module
 */
import { Suspense, useCallback, useEffect, useState } from 'react';
import { LazyTerminalView } from '../terminal/LazyTerminalView';
import type { OpenTerminal, TerminalProgram, TerminalSize } from '@codecell/protocol';
import type { RunController } from '../run/RunController';
import { acceptsStdin, isActive } from '../run/runState';
import { endStatusText } from '../run/statusText';
import type { ThemeName } from './theme';
import { useRunState } from './useRunState';
import { ErrorBanner } from './ErrorBanner';


/** How each terminal program is named in the page. */
export const TERMINAL_NAMES: Readonly<Record<TerminalProgram, { readonly title: string; readonly what: string }>> = Object.freeze({
  bash: { title: 'Shell', what: 'bash in /workspace of the room’s VM' },
  python: { title: 'Python', what: 'the Python REPL in the room’s VM' },
  node: { title: 'Node', what: 'the Node REPL in the room’s VM' },
});

export interface TerminalPaneProps {
  readonly program: TerminalProgram;
  readonly controller: RunController;
  /** The room's open session of this program, if any. */
  readonly open: OpenTerminal | null;
  readonly canRun: boolean;
  readonly theme: ThemeName;
  /** Told the size that fills the pane (what a new session starts with). */
  readonly onFit: (size: TerminalSize) => void;
}

export function TerminalPane({ program, controller, open, canRun, theme, onFit }: TerminalPaneProps) {
  const state = useRunState(controller);
  const names = TERMINAL_NAMES[program];
  // Show the room's session of this program whoever opened it.
  useEffect(() => {
    if (open) controller.attach(open.jobId);
  }, [open, controller]);
  const active = isActive(state);
  // Start only once the screen knows its size: the session starts with it.
  const [measured, setMeasured] = useState(false);
  const onData = useCallback((data: string) => void controller.sendKeys(data), [controller]);
  const fitted = useCallback(
    (size: TerminalSize) => {
      onFit(size);
      setMeasured(true);
      if (canRun) void controller.resize(size);
    },
    [controller, canRun, onFit],
  );
  const ended = state.phase === 'finished' ? endStatusText(state.end?.status ?? 'ok', state.end?.code ?? null) : null;
  return (
    <div className="terminal-pane" data-testid={`terminal-${program}`} data-phase={state.phase}>
      <div className="terminal-bar">
        <span className="muted small" data-testid="terminal-status">
          {active ? (state.phase === 'running' ? `${names.what}` : 'Starting…') : ended ? `Ended: ${ended.label}${state.end?.message ? ` (${state.end.message})` : ''}` : 'Not started'}
        </span>
        <span className="spacer" />
        {state.startedBy && active ? <span className="muted small">opened by {state.startedBy}</span> : null}
        {canRun && !active ? (
          <button type="button" className="btn btn-small btn-run" data-testid={`terminal-start-${program}`} disabled={!measured} onClick={() => void controller.run()}>
            {state.phase === 'finished' ? 'Start again' : `Start ${names.title}`}
          </button>
        ) : null}
        {canRun && active ? (
          <button type="button" className="btn btn-ghost btn-small" data-testid={`terminal-stop-${program}`} onClick={() => void controller.stop()} title="End the session for everyone">
            End
          </button>
        ) : null}
      </div>
      {state.error ? <ErrorBanner error={state.error} testId="terminal-error" onDismiss={() => controller.dismissError()} /> : null}
      <div className="output-screen" data-testid={`terminal-screen-${program}`} role="log" aria-label={`${names.title} terminal`}>
        <Suspense fallback={<div className="output-empty">Loading the terminal…</div>}>
          <LazyTerminalView
            screenKey={`${state.jobId ?? 'none'}:${state.screens}`}
            output={state.output}
            size={state.tty}
            onData={canRun && acceptsStdin(state) ? onData : null}
            onFit={fitted}
            theme={theme}
            testId={`terminal-view-${program}`}
            label={`${names.title} terminal`}
          />
        </Suspense>
        {state.phase === 'idle' ? (
          <div className="output-empty">
            {canRun
              ? `Start ${names.what}: everyone in the room sees it and can type into it, like a shared tmux. It ends when it exits, when someone ends it, or after a while without input.`
              : `Nobody has opened ${names.what}. Those who may run code in this room can start one; you will see it here.`}
          </div>
        ) : null}
      </div>
    </div>
  );
}
