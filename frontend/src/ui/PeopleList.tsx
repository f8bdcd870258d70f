/**
 * Who is in the room: you (name editable, colour), then everyone else with
 * the file and line they are on, "Jump to" (reveal their cursor once) and
 * "Follow" (your view goes where they go until you edit or pick a file).
 * @module
 */
import { useEffect, useState } from 'react';
import type { KeyboardEvent } from 'react';
import { cleanName } from '../collab/identity';
import type { UserIdentity } from '../collab/identity';
import { initials } from '../collab/participants';
import type { Participant } from '../collab/participants';
import { EyeIcon, TargetIcon } from './icons';

export interface PeopleListProps {
  readonly people: readonly Participant[];
  readonly me: UserIdentity;
  /** Null when the name comes from the account (hosted mode). */
  readonly onRename: ((name: string) => void) | null;
  readonly following: number | null;
  readonly onFollow: (clientId: number | null) => void;
  readonly onJump: (clientId: number) => void;
}

export function PeopleList({ people, me, onRename, following, onFollow, onJump }: PeopleListProps) {
  const others = people.filter((p) => !p.isSelf);
  return (
    <section className="side-section people-section" aria-label="People" data-testid="people">
      <div className="side-header">
        <span className="pane-title">People</span>
        <span className="count-badge">{others.length + 1}</span>
      </div>
      <ul className="people-list">
        <li className="person person-self" data-testid="me">
          <Avatar name={me.name} color={me.color} />
          {onRename ? <NameField name={me.name} onRename={onRename} /> : <span className="person-name">{me.name}</span>}
          <span className="muted small">you</span>
        </li>
        {others.map((p) => (
          <li key={p.clientId} className={`person${following === p.clientId ? ' person-following' : ''}`} data-testid="person" data-client-id={p.clientId} data-name={p.name}>
            <Avatar name={p.name} color={p.color} />
            <span className="person-main">
              <span className="person-name">{p.name}</span>
              <span className="person-where muted small" data-testid="person-file">
                {p.activeFile ? `${p.activeFile}${p.cursor ? `:${p.cursor.line}` : ''}` : 'no file open'}
              </span>
            </span>
            <span className="person-actions">
              <button type="button" className="icon-btn" title={`Jump to ${p.name}`} aria-label={`Jump to ${p.name}`} data-testid="jump" disabled={!p.activeFile} onClick={() => onJump(p.clientId)}>
                <TargetIcon />
              </button>
              <button
                type="button"
                className={`icon-btn${following === p.clientId ? ' icon-on' : ''}`}
                title={following === p.clientId ? `Stop following ${p.name}` : `Follow ${p.name}`}
                aria-label={following === p.clientId ? `Stop following ${p.name}` : `Follow ${p.name}`}
                aria-pressed={following === p.clientId}
                data-testid="follow"
                onClick={() => onFollow(following === p.clientId ? null : p.clientId)}
              >
                <EyeIcon />
              </button>
            </span>
          </li>
        ))}
      </ul>
      {others.length === 0 ? <div className="side-empty">Nobody else is here yet. Share the link to code together.</div> : null}
    </section>
  );
}

export function Avatar({ name, color, small }: { readonly name: string; readonly color: string; readonly small?: boolean }) {
  return (
    <span className={`avatar${small ? ' avatar-small' : ''}`} style={{ background: color }} title={name} aria-hidden="true">
      {initials(name)}
    </span>
  );
}

/** Your name: looks like text, edits in place; Enter or leaving the field saves it. */
function NameField({ name, onRename }: { readonly name: string; readonly onRename: (name: string) => void }) {
  const [value, setValue] = useState(name);
  useEffect(() => setValue(name), [name]);
  const commit = (): void => {
    const clean = cleanName(value);
    if (clean === null) setValue(name);
    else if (clean !== name) onRename(clean);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === 'Enter') e.currentTarget.blur();
    else if (e.key === 'Escape') {
      setValue(name);
      e.currentTarget.blur();
    }
  };
  return (
    <input
      className="name-input"
      data-testid="my-name"
      aria-label="Your name, shown to others"
      title="Your name, shown to others: click to change"
      value={value}
      maxLength={64}
      spellCheck={false}
      autoComplete="off"
      onChange={(e) => setValue(e.target.value)}
      onBlur={commit}
      onKeyDown={onKeyDown}
    />
  );
}
