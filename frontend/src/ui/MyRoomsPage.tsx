/**
 * My rooms (hosted mode): the rooms the caller owns or joined, newest first,
 * with their role; making a room; deleting one they own.
 * @module
 */
import { useCallback, useEffect, useState } from 'react';
import { isRuntimeId } from '@codecell/protocol';
import type { MeOutput, RoomSummary, RuntimeId } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import type { GatewayClient } from '../api/trpc';
import { toUserError } from '../api/userError';
import { runtimeName } from '../collab/roomLanguage';
import { roomPath } from '../collab/roomRoute';
import { AccountMenu } from './AccountMenu';
import { LogoMark, PlusIcon, TrashIcon } from './icons';
import { useRuntimes } from './useRuntimes';

export interface MyRoomsPageProps {
  readonly client: GatewayClient;
  readonly me: MeOutput;
  readonly navigate: (path: string) => void;
}

export function MyRoomsPage({ client, me, navigate }: MyRoomsPageProps) {
  const [rooms, setRooms] = useState<readonly RoomSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [language, setLanguage] = useState<RuntimeId>('py');
  const runtimes = useRuntimes();
  const [confirm, setConfirm] = useState<string | null>(null);

  const load = useCallback(() => {
    client.rooms.mine.query().then(setRooms, (err: unknown) => setError(toUserError(err, API_BASE).message));
  }, [client]);
  useEffect(load, [load]);

  const fail = (err: unknown): void => setError(toUserError(err, API_BASE).message);
  const create = (): void => {
    setError(null);
    client.createRoom.mutate({ ...(title.trim() ? { title: title.trim() } : {}), language }).then(({ roomId }) => navigate(roomPath(roomId)), fail);
  };
  const remove = (roomId: string): void => {
    setConfirm(null);
    client.rooms.delete.mutate({ roomId }).then(load, fail);
  };

  return (
    <div className="rooms-page">
      <header className="header">
        <div className="brand">
          <LogoMark />
          <span className="brand-name">CodeCell Live</span>
        </div>
        <span className="pane-title">My rooms</span>
        <span className="spacer" />
        {me.user ? <AccountMenu client={client} user={me.user} /> : null}
      </header>
      <main className="rooms-main">
        {me.user?.kind !== 'guest' ? (
          <form
            className="rooms-new"
            onSubmit={(e) => {
              e.preventDefault();
              create();
            }}
          >
            <input className="field-input" data-testid="new-room-title" placeholder="Title of a new room" value={title} maxLength={100} onChange={(e) => setTitle(e.target.value)} />
            <select
              className="field-input runtime-select"
              data-testid="new-room-language-select"
              aria-label="Language of the new room"
              title="The new room starts with a hello-world program in this language"
              value={language}
              onChange={(e) => (isRuntimeId(e.target.value) ? setLanguage(e.target.value) : undefined)}
            >
              {runtimes.map((r) => (
                <option key={r.language} value={r.language}>
                  {runtimeName(r)} ({r.entry})
                </option>
              ))}
            </select>
            <button type="submit" className="btn btn-run" data-testid="create-room">
              <PlusIcon />
              New room
            </button>
          </form>
        ) : null}
        {error ? (
          <div className="banner banner-error" role="alert" data-testid="rooms-error">
            <span className="banner-text">{error}</span>
          </div>
        ) : null}
        {rooms === null ? <p className="muted">Loading…</p> : null}
        {rooms?.length === 0 ? <p className="muted">No rooms yet. Make one, or open a link someone shared with you.</p> : null}
        <ul className="rooms-list">
          {rooms?.map((r) => (
            <li key={r.roomId} className="rooms-item" data-testid="room-item" data-room={r.roomId} data-role={r.role}>
              <a href={roomPath(r.roomId)} className="rooms-link" onClick={(e) => (e.preventDefault(), navigate(roomPath(r.roomId)))}>
                {r.title}
              </a>
              <span className="role-badge">{r.role}</span>
              <span className="muted small">{r.role === 'owner' ? 'yours' : `by ${r.owner?.displayName ?? 'someone'}`}</span>
              <span className="spacer" />
              {r.role === 'owner' ? (
                confirm === r.roomId ? (
                  <>
                    <span className="small">Delete for everyone?</span>
                    <button type="button" className="btn btn-danger btn-small" data-testid="confirm-delete-room" onClick={() => remove(r.roomId)}>
                      Delete
                    </button>
                    <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirm(null)}>
                      Cancel
                    </button>
                  </>
                ) : (
                  <button type="button" className="icon-btn icon-danger" aria-label={`Delete ${r.title}`} data-testid="delete-room" onClick={() => setConfirm(r.roomId)}>
                    <TrashIcon />
                  </button>
                )
              ) : null}
            </li>
          ))}
        </ul>
      </main>
    </div>
  );
}
