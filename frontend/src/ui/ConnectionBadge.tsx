/**
 * The room connection in the header: connected / connecting / offline, and
 * "Unsynced changes" while the gateway has not acknowledged local edits.
 * @module
 */
import { useEffect, useState } from 'react';
import { connectionView } from '../collab/connection';
import type { RoomSessionState } from '../collab/RoomSession';

/** Acknowledgements normally come within milliseconds: only a lasting backlog is worth a label. */
export const UNSYNCED_LABEL_DELAY_MS = 700;

export function ConnectionBadge({ state }: { readonly state: RoomSessionState }) {
  const view = connectionView(state);
  const showUnsynced = useLasting(view.unsynced, view.kind === 'offline' ? 0 : UNSYNCED_LABEL_DELAY_MS);
  return (
    <span className="conn" data-testid="connection" data-state={view.kind} data-unsynced={state.unsynced} role="status" title={view.detail}>
      <span className={`health health-${view.kind === 'connected' ? 'ok' : view.kind === 'connecting' ? 'warn' : 'error'}`}>
        <span className="dot" aria-hidden="true" />
        {view.label}
      </span>
      {showUnsynced ? (
        <span className="unsynced" data-testid="unsynced" title="Edits the gateway has not saved yet">
          Unsynced changes
        </span>
      ) : null}
    </span>
  );
}

/** True once `flag` has been true for `delayMs`; false as soon as it is false. */
function useLasting(flag: boolean, delayMs: number): boolean {
  const [lasting, setLasting] = useState(false);
  useEffect(() => {
    if (!flag) {
      setLasting(false);
      return;
    }
    const timer = setTimeout(() => setLasting(true), delayMs);
    return () => clearTimeout(timer);
  }, [flag, delayMs]);
  return flag && lasting;
}
