/**
 * The room's runs, newest first: who started each, when, how it ended and how
 * long it took (from the shared document). Clicking one shows its output.
 * @module
 */
import type { RoomRunRecord } from '@codecell/protocol';
import { formatRunTime, isLiveRun, runDurationMs } from '../collab/roomRuns';
import { endStatusText, formatDuration } from '../run/statusText';
import type { StatusTone } from '../run/statusText';

export interface RunHistoryProps {
  readonly runs: readonly RoomRunRecord[];
  /** The run the output pane shows. */
  readonly shown: string | null;
  readonly onShow: (jobId: string) => void;
}

function statusOf(run: RoomRunRecord): { label: string; tone: StatusTone } {
  if (run.status === 'queued') return { label: 'Queued', tone: 'busy' };
  if (run.status === 'running') return { label: 'Running', tone: 'busy' };
  return endStatusText(run.status, run.exitCode);
}

export function RunHistory({ runs, shown, onShow }: RunHistoryProps) {
  return (
    <section className="side-section runs-section" aria-label="Runs" data-testid="run-history">
      <div className="side-header">
        <span className="pane-title">Runs</span>
        {runs.length > 0 ? <span className="count-badge">{runs.length}</span> : null}
      </div>
      {runs.length === 0 ? <div className="side-empty">No runs yet in this room.</div> : null}
      <ul className="run-list">
        {[...runs].reverse().map((run) => {
          const { label, tone } = statusOf(run);
          const duration = runDurationMs(run);
          return (
            <li key={run.jobId}>
              <button
                type="button"
                className={`run-item${run.jobId === shown ? ' run-shown' : ''}`}
                data-testid="run-item"
                data-job-id={run.jobId}
                data-status={run.status}
                onClick={() => onShow(run.jobId)}
                title={`Show the output of run ${run.jobId}`}
              >
                <span className={`run-dot tone-${tone}${isLiveRun(run) ? ' run-dot-live' : ''}`} aria-hidden="true" />
                <span className="run-main">
                  <span className="run-line">
                    <span className="run-who">{run.startedBy ?? 'someone'}</span>
                    <span className="run-time muted">{formatRunTime(run.startedAt)}</span>
                  </span>
                  <span className="run-line small">
                    <span className={`run-status tone-text-${tone}`}>{label}</span>
                    {duration !== null ? <span className="muted">{formatDuration(duration)}</span> : null}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
