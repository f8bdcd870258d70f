import type { RunState } from '../run/runState';
import { runStatusText } from '../run/statusText';

/** The run's state in words: Queued (position 2), Running…, Finished, Error (exit code 1)… */
export function StatusPill({ state }: { readonly state: RunState }) {
  const { label, tone } = runStatusText(state);
  return (
    <span className={`pill pill-${tone}`} data-testid="run-status" data-phase={state.phase} role="status" aria-live="polite">
      {tone === 'busy' ? <span className="spinner" aria-hidden="true" /> : <span className="dot" aria-hidden="true" />}
      {label}
    </span>
  );
}
