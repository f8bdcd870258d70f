/**
 * The page's routes. With AUTH_MODE=none (one local user): `/r/<roomId>` is a
 * room (joining it is opening it), `/` creates a new room and goes there. In
 * hosted mode the page first asks who it is (`auth.me`): the sign-in, setup,
 * sign-up and share-link pages work without a session, everything else signs
 * in first; `/` is My rooms.
 * @module
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { MeOutput, RuntimeId } from '@codecell/protocol';
import type { GatewayClient } from '../api/trpc';
import { API_BASE } from '../api/apiUrl';
import { toUserError } from '../api/userError';
import { loadIdentity, saveIdentity } from '../collab/identity';
import type { UserIdentity } from '../collab/identity';
import { parseRoute, returnPath, roomPath, signInPath } from '../collab/roomRoute';
import type { Route } from '../collab/roomRoute';
import { SetupPage, SignInPage, SignUpPage } from './AuthPages';
import { JoinPage } from './JoinPage';
import { MyRoomsPage } from './MyRoomsPage';
import { NewRoomMenu } from './NewRoomMenu';
import { Notice } from './Notice';
import { RoomPage } from './RoomPage';
import { useTheme } from './theme';

export interface AppProps {
  readonly client: GatewayClient;
}

const currentRoute = (): Route => parseRoute(location.pathname, location.search);

/**
 * What the page assumes while `auth.me` cannot be reached: the single-user
 * mode, so a room still opens over its collab socket. The gateway enforces
 * roles whatever the page assumes; `auth.me` is retried and wins when it answers.
 */
const UNREACHABLE_ME: MeOutput = { mode: 'none', user: null, allowSignup: false, needsSetup: false, oidcStartPath: null };

export function App({ client }: AppProps) {
  const [route, setRoute] = useState<Route>(currentRoute);
  const theme = useTheme();
  const [identity, setIdentity] = useState<UserIdentity>(() => loadIdentity(safeLocalStorage()));
  const [me, setMe] = useState<MeOutput | null>(null);

  useEffect(() => {
    const onPop = (): void => setRoute(currentRoute());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const load = (attempt: number): void => {
      client.auth.me.query().then(
        (m) => !stopped && setMe(m),
        () => {
          if (stopped) return;
          setMe((m) => m ?? UNREACHABLE_ME);
          timer = setTimeout(() => load(attempt + 1), Math.min(10_000, 500 * 2 ** attempt));
        },
      );
    };
    load(0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client]);

  const navigate = useCallback((path: string, replace = false): void => {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    setRoute(currentRoute());
  }, []);

  /** Creates a room on the gateway (seeded there, in `language`: Python without one) and opens it. */
  const newRoom = useCallback(
    async (replace: boolean, language?: RuntimeId | null): Promise<void> => {
      const { roomId } = await client.createRoom.mutate(language ? { language } : {});
      navigate(roomPath(roomId), replace);
    },
    [client, navigate],
  );

  const rename = useCallback((name: string) => {
    setIdentity((old) => {
      const next = { ...old, name };
      saveIdentity(safeLocalStorage(), next);
      return next;
    });
  }, []);

  if (me === null) return <Notice title="Loading…" busy />;
  const hosted = me.mode !== 'none';
  const signedIn = (next: MeOutput): void => {
    setMe(next);
    navigate(route.kind === 'signin' ? returnPath(location.search) : '/', true);
  };
  const authProps = { client, me, onSignedIn: signedIn, navigate };

  switch (route.kind) {
    case 'setup':
      return <SetupPage {...authProps} token={route.token} />;
    case 'signup':
      return <SignUpPage {...authProps} invite={route.invite} />;
    case 'join':
      return <JoinPage client={client} me={me} token={route.token} navigate={navigate} onJoined={(path) => (client.auth.me.query().then(setMe, () => undefined), navigate(path, true))} />;
    case 'signin':
      if (!hosted || me.user !== null) return <Redirect to={returnPath(location.search)} navigate={navigate} />;
      return <SignInPage {...authProps} returnTo={returnPath(location.search)} />;
    default:
      break;
  }
  if (hosted && me.user === null) return <Redirect to={signInPath(location.pathname)} navigate={navigate} />;
  // Hosted: names come from the account (the gateway puts them on cursors anyway).
  const shownIdentity = hosted && me.user ? { ...identity, name: me.user.displayName } : identity;

  switch (route.kind) {
    case 'room':
      return (
        <RoomPage
          key={route.roomId}
          roomId={route.roomId}
          client={client}
          theme={theme}
          identity={shownIdentity}
          me={me}
          onRename={rename}
          onNewRoom={hosted ? () => Promise.resolve(navigate('/')) : (language) => newRoom(false, language)}
        />
      );
    case 'home':
    case 'rooms':
      return hosted ? (
        <MyRoomsPage client={client} me={me} navigate={navigate} />
      ) : (
        <CreatingRoom create={() => newRoom(true, route.kind === 'home' ? route.language : null)} />
      );
    case 'notFound':
      return (
        <Notice title="No such room" message={route.message}>
          <NewRoomMenu variant="primary" onCreate={(language) => newRoom(false, language)} />
        </Notice>
      );
  }
}

/** Goes to `to` once rendered. */
function Redirect({ to, navigate }: { readonly to: string; readonly navigate: (path: string, replace?: boolean) => void }) {
  useEffect(() => navigate(to, true), [to, navigate]);
  return null;
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

function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
