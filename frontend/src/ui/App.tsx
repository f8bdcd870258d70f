/**
 * The page's routes: `/r/<roomId>` is a room (joining it is opening it), `/`
 * creates a new room and goes there, anything else says there is no such page.
 * @module
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import type { GatewayClient } from '../api/trpc';
import { API_BASE } from '../api/apiUrl';
import { toUserError } from '../api/userError';
import { loadIdentity, saveIdentity } from '../collab/identity';
import type { UserIdentity } from '../collab/identity';
import { parseRoute, roomPath } from '../collab/roomRoute';
import type { Route } from '../collab/roomRoute';
import { LogoMark } from './icons';
import { RoomPage } from './RoomPage';
import { useTheme } from './theme';

export interface AppProps {
  readonly client: GatewayClient;
}

export function App({ client }: AppProps) {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname));
  const theme = useTheme();
  const [identity, setIdentity] = useState<UserIdentity>(() => loadIdentity(safeLocalStorage()));

  useEffect(() => {
    const onPop = (): void => setRoute(parseRoute(location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  /** Creates a room on the gateway (seeded there) and opens it. */
  const newRoom = useCallback(
    async (replace: boolean): Promise<void> => {
      const { roomId } = await client.createRoom.mutate({});
      const path = roomPath(roomId);
      if (replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
      setRoute({ kind: 'room', roomId });
    },
    [client],
  );

  const rename = useCallback((name: string) => {
    setIdentity((old) => {
      const next = { ...old, name };
      saveIdentity(safeLocalStorage(), next);
      return next;
    });
  }, []);

  switch (route.kind) {
    case 'room':
      return (
        <RoomPage
          key={route.roomId}
          roomId={route.roomId}
          client={client}
          theme={theme}
          identity={identity}
          onRename={rename}
          onNewRoom={() => newRoom(false)}
        />
      );
    case 'home':
      return <CreatingRoom create={() => newRoom(true)} />;
    case 'notFound':
      return (
        <Notice title="No such room" message={route.message}>
          <NewRoomButton create={() => newRoom(false)} />
        </Notice>
      );
  }
}

/** `/`: makes a room and replaces the URL with it. */
function CreatingRoom({ create }: { readonly create: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  const started = useRef(false);
  const attempt = useCallback(() => {
    setError(null);
    create().catch((err: unknown) => setError(toUserError(err, API_BASE).message));
  }, [create]);
  useEffect(() => {
    // StrictMode runs effects twice in development: one room is enough.
    if (started.current) return;
    started.current = true;
    attempt();
  }, [attempt]);
  return error === null ? (
    <Notice title="Creating a room…" message="A room is a shared workspace: everyone with its link edits and runs the same files." busy />
  ) : (
    <Notice title="Could not create a room" message={error}>
      <button type="button" className="btn btn-run" onClick={attempt}>
        Try again
      </button>
    </Notice>
  );
}

function NewRoomButton({ create }: { readonly create: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button type="button" className="btn btn-run" data-testid="new-room" onClick={() => void create().catch((err: unknown) => setError(toUserError(err, API_BASE).message))}>
        New room
      </button>
      {error ? <p className="notice-error">{error}</p> : null}
    </>
  );
}

function Notice({ title, message, busy, children }: { readonly title: string; readonly message: string; readonly busy?: boolean; readonly children?: ReactNode }) {
  return (
    <div className="notice-page">
      <div className="notice-card">
        <div className="brand">
          <LogoMark />
          <span className="brand-name">CodeCell Live</span>
        </div>
        <h1 className="notice-title">
          {busy ? <span className="spinner" aria-hidden="true" /> : null}
          {title}
        </h1>
        <p className="muted">{message}</p>
        {children}
      </div>
    </div>
  );
}

function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
