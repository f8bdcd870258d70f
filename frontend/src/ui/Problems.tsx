/**
 * The compiler's messages under the output: each one names its file, line
 * and column; a click opens the file there. The raw compiler output stays in
 * the output above; these are the same messages, parsed.
 * @module
 */
import type { Diagnostic } from '@codecell/protocol';

/** At most this many messages are listed (the editor marks them all). */
export const MAX_LISTED_PROBLEMS = 50;

export interface ProblemsProps {
  readonly diagnostics: readonly Diagnostic[];
  /** Files of the room (messages about other files, e.g. system headers, cannot be opened). */
  readonly paths: readonly string[];
  readonly onGoTo: (d: { readonly path: string; readonly line: number; readonly column: number }) => void;
}

/** "2 errors, 1 warning". */
export function problemCounts(diagnostics: readonly Diagnostic[]): string {
  const count = (severity: Diagnostic['severity'], word: string): string | null => {
    const n = diagnostics.filter((d) => d.severity === severity).length;
    return n === 0 ? null : `${n} ${word}${n === 1 ? '' : 's'}`;
  };
  return [count('error', 'error'), count('warning', 'warning'), count('note', 'note')].filter((x) => x !== null).join(', ');
}

export function Problems({ diagnostics, paths, onGoTo }: ProblemsProps) {
  if (diagnostics.length === 0) return null;
  return (
    <div className="problems" data-testid="problems" aria-label="Compiler messages">
      <div className="problems-title">{problemCounts(diagnostics)} from the compiler</div>
      <ul className="problems-list">
        {diagnostics.slice(0, MAX_LISTED_PROBLEMS).map((d, i) => {
          const where = d.file === null ? null : `${d.file}${d.line === null ? '' : `:${d.line}${d.column === null ? '' : `:${d.column}`}`}`;
          const path = d.file;
          const canOpen = path !== null && paths.includes(path);
          return (
            <li key={i}>
              <button
                type="button"
                className={`problem problem-${d.severity}`}
                data-testid="problem"
                data-file={d.file ?? ''}
                data-line={d.line ?? ''}
                disabled={!canOpen}
                title={canOpen ? `Open ${where ?? ''}` : undefined}
                onClick={() => (canOpen ? onGoTo({ path, line: d.line ?? 1, column: d.column ?? 1 }) : undefined)}
              >
                <span className={`severity severity-${d.severity}`}>{d.severity}</span>
                {where ? <span className="problem-where mono">{where}</span> : null}
                <span className="problem-message">{d.message}</span>
              </button>
            </li>
          );
        })}
      </ul>
      {diagnostics.length > MAX_LISTED_PROBLEMS ? <div className="muted small">…and {diagnostics.length - MAX_LISTED_PROBLEMS} more (see the output above).</div> : null}
    </div>
  );
}
