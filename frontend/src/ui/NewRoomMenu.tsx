/**
 * "New room": a menu of the languages a room can start in, each with its
 * version and the hello-world file it starts with. Choosing one creates the
 * room (seeded by the gateway) and opens it.
 * @module
 */
import { useEffect, useRef, useState } from 'react';
import type { RuntimeId } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import { toUserError } from '../api/userError';
import { runtimeName } from '../collab/roomLanguage';
import { PlusIcon } from './icons';
import { useRuntimes } from './useRuntimes';

export interface NewRoomMenuProps {
  readonly onCreate: (language: RuntimeId) => Promise<void>;
  /** Button style: the header's small one, or a page's main action. */
  readonly variant?: 'header' | 'primary';
}

export function NewRoomMenu({ onCreate, variant = 'header' }: NewRoomMenuProps) {
  const runtimes = useRuntimes();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent): void => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const create = (language: RuntimeId): void => {
    setBusy(true);
    setError(null);
    onCreate(language).then(
      () => {
        setBusy(false);
        setOpen(false);
      },
      (err: unknown) => {
        setBusy(false);
        setError(toUserError(err, API_BASE).message);
      },
    );
  };

  return (
    <div className="menu-root" ref={root}>
      <button
        type="button"
        className={variant === 'header' ? `btn btn-small-h${error ? ' btn-error' : ''}` : 'btn btn-run'}
        data-testid="new-room"
        aria-haspopup="menu"
        aria-expanded={open}
        disabled={busy}
        title={error ?? 'Create a new room in a language of your choice and go there'}
        onClick={() => setOpen((o) => !o)}
      >
        <PlusIcon />
        <span className="btn-label">New room</span>
      </button>
      {open ? (
        <div className="menu" role="menu" aria-label="Start a new room in">
          <div className="menu-title">Start a new room in…</div>
          {runtimes.map((r) => (
            <button
              key={r.language}
              type="button"
              role="menuitem"
              className="menu-item"
              data-testid="new-room-language"
              data-language={r.language}
              disabled={busy}
              onClick={() => create(r.language)}
            >
              <span className="menu-item-name">{runtimeName(r)}</span>
              <span className="menu-item-detail mono">{r.entry}</span>
              {r.available ? null : <span className="menu-item-detail">not on this sandbox</span>}
            </button>
          ))}
          {error ? (
            <div className="menu-error" role="alert">
              {error}
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
