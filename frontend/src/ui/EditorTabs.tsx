/**
 * The bar above the editor: the open file (and whether Run executes it), who
 * is being followed, actions for the open file, who else is in this file,
 * and the runtime picker.
 * @module
 */
import type { ReactNode } from 'react';
import type { Participant } from '../collab/participants';
import { EntryIcon, FileIcon } from './icons';
import { Avatar } from './PeopleList';

export interface EditorTabsProps {
  readonly activeFile: string | null;
  readonly entry: string | null;
  /** The participant being followed, or null. */
  readonly leader: Participant | null;
  readonly onStopFollowing: () => void;
  /** Others in the open file. */
  readonly here: readonly Participant[];
  /** Buttons for the open file (e.g. back to its preview). */
  readonly actions?: ReactNode;
  /** "Run <entry> as <language>". */
  readonly picker: ReactNode;
}

export function EditorTabs({ activeFile, entry, leader, onStopFollowing, here, actions, picker }: EditorTabsProps) {
  return (
    <div className="pane-header tabs">
      {activeFile !== null ? (
        <span className="tab tab-active" data-testid="active-file">
          <FileIcon />
          {activeFile}
          {activeFile === entry ? (
            <span className="entry-badge" title="Run executes this file">
              <EntryIcon />
              entry
            </span>
          ) : null}
        </span>
      ) : null}
      {leader ? (
        <span className="following-chip" data-testid="following" style={{ borderColor: leader.color }}>
          <span className="presence-dot" style={{ background: leader.color }} />
          Following {leader.name}
          <button type="button" className="chip-close" aria-label="Stop following" onClick={onStopFollowing}>
            ×
          </button>
        </span>
      ) : null}
      {actions}
      <span className="spacer" />
      <span className="here">
        {here.map((p) => (
          <Avatar key={p.clientId} name={p.name} color={p.color} small />
        ))}
      </span>
      {picker}
    </div>
  );
}
