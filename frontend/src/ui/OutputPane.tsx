/**
 * The run's output on a terminal screen (xterm.js): a TTY run's bytes as a
 * terminal shows them (colours, `\r` progress bars, cursor movement), pipe
 * output as lines with stderr in red, where a compiled run's stages begin, the
 * compiler's messages (each opens its file and line), and the exit status in
 * words with exit code and timings. Typing goes straight to the program (the
 * stdin line below is there too); the screen follows the pane's size.
 * @module
 */
import { Suspense, useCallback } from 'react';
import { LazyTerminalView } from '../terminal/LazyTerminalView';
import type { TerminalSize } from '@codecell/protocol';
import type { RunController } from '../run/RunController';
import { acceptsStdin, isActive } from '../run/runState';
import type { RunState } from '../run/runState';
import { compileErrorText, endStatusText, exitFacts } from '../run/statusText';
import type { ThemeName } from './theme';
import { Elapsed } from './Elapsed';
import { Problems } from './Problems';
import type { ProblemsProps } from './Problems';
import { StatusPill } from './StatusPill';
import { ErrorBanner } from './ErrorBanner';
import { StdinLine } from './StdinLine';


export interface OutputPaneProps {
  readonly state: RunState;
  readonly controller: RunController;
  readonly entry: string;
  /** The language Run uses for the entry, e.g. "C++", and whether it is compiled first. */
  readonly language: { readonly name: string; readonly compiled: boolean };
  /** The caller's role lets them type stdin. */
  readonly canRun?: boolean;
  /** Files of the room, and how to open one at a compiler message. */
  readonly problems: Omit<ProblemsProps, 'diagnostics'>;
  readonly theme: ThemeName;
  /** Told the size that fills the pane (the next run's terminal size). */
  readonly onFit?: (size: TerminalSize) => void;
}

export function OutputPane({ state, controller, entry, language, canRun = true, problems, theme, onFit }: OutputPaneProps) {
  const active = isActive(state);
  const stdinOpen = active && state.phase !== 'submitting' && state.phase !== 'attaching';
  const typing = canRun && acceptsStdin(state);
  const onData = useCallback((data: string) => void controller.sendKeys(data), [controller]);
  const fitted = useCallback(
    (size: TerminalSize) => {
      onFit?.(size);
      if (canRun) void controller.resize(size);
    },
    [controller, canRun, onFit],
  );
  return (
    <section className="pane output-pane" aria-label="Output">
      <div className="pane-header">
        <span className="pane-title">Output</span>
        <StatusPill state={state} />
        {state.phase === 'running' && state.startedAt !== null ? <Elapsed since={state.startedAt} /> : null}
        <span className="spacer" />
        {state.startedBy ? <span className="muted small">run by {state.startedBy}</span> : null}
        <button
          type="button"
          className="btn btn-ghost btn-small"
          onClick={() => controller.clearOutput()}
          disabled={state.output.length === 0}
          title="Clear the output"
        >
          Clear
        </button>
      </div>
      {state.error ? <ErrorBanner error={state.error} testId="error-banner" onDismiss={() => controller.dismissError()} /> : null}
      {state.phase === 'submitting' || state.phase === 'attaching' || state.connection === 'reconnecting' ? (
        <div className="progress" aria-hidden="true" />
      ) : null}
      {state.truncated || state.trimmed ? <div className="output-notice">Earlier output was dropped to keep the page responsive.</div> : null}
      <div className="output-screen" data-testid="output" role="log" aria-label="Program output" data-tty={state.tty ? `${state.tty.cols}x${state.tty.rows}` : undefined}>
        <Suspense fallback={<div className="output-empty">Loading the terminal…</div>}>
          <LazyTerminalView
            screenKey={`${state.jobId ?? 'none'}:${state.screens}`}
            output={state.output}
            size={state.tty}
            onData={typing && state.tty !== null ? onData : null}
            onFit={fitted}
            theme={theme}
            testId="output-terminal"
            label="Program terminal"
          />
        </Suspense>
        {state.output.length === 0 ? <EmptyOutput state={state} entry={entry} language={language} /> : null}
      </div>
      {state.connection === 'reconnecting' && active ? <div className="output-notice">Connection lost; reconnecting to the run…</div> : null}
      <Problems diagnostics={state.diagnostics} {...problems} />
      {stdinOpen ? <StdinLine controller={controller} disabled={!canRun || !acceptsStdin(state)} /> : null}
      <RunResult state={state} />
    </section>
  );
}

function EmptyOutput({ state, entry, language }: { readonly state: RunState; readonly entry: string; readonly language: OutputPaneProps['language'] }) {
  if (isActive(state)) return <div className="output-empty">Waiting for output…</div>;
  if (state.phase === 'finished') {
    const ran = state.exit !== null;
    return <div className="output-empty">{ran ? 'The program printed nothing.' : 'The program did not run.'}</div>;
  }
  return (
    <div className="output-empty">
      Press <kbd>Run</kbd> or <kbd>Ctrl</kbd>+<kbd>Enter</kbd> to run <code>{entry}</code> as {language.name} in a fresh microVM.
      <br />
      {language.compiled ? 'It is compiled first: compiler errors are marked in the editor. ' : ''}Its output appears here as it is printed.
    </div>
  );
}

function RunResult({ state }: { readonly state: RunState }) {
  if (state.phase !== 'finished') return null;
  const status = state.end?.status ?? state.exit?.status ?? 'internal_error';
  const { label, tone } = endStatusText(status, state.end?.code ?? state.exit?.code ?? null);
  const signal = state.exit?.signal;
  const rawMessage = state.end?.message ?? state.failure?.message ?? (status === 'compile_error' ? compileErrorText(state.diagnostics) : null);
  // "ended by SIGKILL" repeats the signal fact already shown.
  const message = signal && rawMessage === `ended by ${signal}` ? null : rawMessage;
  return (
    <div className={`result result-${tone}`} data-testid="run-result" data-status={status}>
      <strong className="result-label">{label}</strong>
      {state.exit
        ? exitFacts(state.exit).map((f) => (
            <span key={f.label} className="fact">
              <span className="fact-label">{f.label}</span> <span className="fact-value">{f.value}</span>
            </span>
          ))
        : null}
      {message ? <span className="result-message">{message}</span> : null}
    </div>
  );
}
