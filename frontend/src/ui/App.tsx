/**
 * The page: header (product, toolbar, gateway status, theme), the editor and
 * the output side by side (stacked on narrow screens).
 * @module
 */
import { lazy, Suspense, useCallback, useEffect } from 'react';
import type { RunController } from '../run/RunController';
import { isActive } from '../run/runState';
import type { Workspace } from '../workspace/workspace';
import { HealthBadge, RuntimeLabel } from './HealthBadge';
import { FileIcon, LogoMark, MoonIcon, PlayIcon, StopIcon, SunIcon } from './icons';
import { OutputPane } from './OutputPane';
import { useRunState } from './useRunState';
import { useTheme } from './theme';

const CodeEditor = lazy(() => import('../editor/CodeEditor'));

export interface AppProps {
  readonly controller: RunController;
  readonly workspace: Workspace;
}

const IS_MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
const RUN_SHORTCUT = IS_MAC ? '⌘↵' : 'Ctrl+↵';

export function App({ controller, workspace }: AppProps) {
  const state = useRunState(controller);
  const { theme, toggle } = useTheme();
  const active = isActive(state);
  const run = useCallback(() => void controller.run(), [controller]);

  // Ctrl/Cmd+Enter anywhere on the page (the editor handles its own and stops the event).
  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent): void => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.defaultPrevented) {
        e.preventDefault();
        run();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [run]);

  return (
    <div className="app">
      <header className="header">
        <div className="brand">
          <LogoMark />
          <span className="brand-name">CodeCell Live</span>
        </div>
        <div className="toolbar" role="toolbar" aria-label="Run controls">
          <button
            type="button"
            className="btn btn-run"
            data-testid="run"
            onClick={run}
            disabled={active}
            title={`Run ${workspace.entry} (${RUN_SHORTCUT})`}
          >
            <PlayIcon />
            Run
            <kbd className="kbd-hint">{RUN_SHORTCUT}</kbd>
          </button>
          <button
            type="button"
            className="btn btn-stop"
            data-testid="stop"
            onClick={() => void controller.stop()}
            disabled={!active || state.stopping || state.jobId === null}
            title="Stop the running program"
          >
            <StopIcon />
            Stop
          </button>
        </div>
        <span className="spacer" />
        <HealthBadge />
        <button
          type="button"
          className="btn btn-icon"
          data-testid="theme-toggle"
          onClick={toggle}
          aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
          title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
        >
          {theme === 'dark' ? <SunIcon /> : <MoonIcon />}
        </button>
      </header>
      <main className="workbench">
        <section className="pane editor-pane" aria-label="Editor">
          <div className="pane-header tabs">
            <span className="tab tab-active">
              <FileIcon />
              {workspace.entry}
            </span>
            <span className="spacer" />
            <RuntimeLabel />
          </div>
          <div className="editor-host" data-testid="editor">
            <Suspense fallback={<div className="editor-loading">Loading editor…</div>}>
              <CodeEditor workspace={workspace} path={workspace.entry} theme={theme} onRun={run} />
            </Suspense>
          </div>
        </section>
        <OutputPane state={state} controller={controller} entry={workspace.entry} />
      </main>
    </div>
  );
}
