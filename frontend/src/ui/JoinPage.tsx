/**
 * `/join/<token>`: what a share link gives (room, role), then joining it,
 * signed in or, when the link allows it, as a guest with a display name.
 * @module
 */
import { useEffect, useState } from 'react';
import type { LinkInfo, MeOutput } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import type { GatewayClient } from '../api/trpc';
import { toUserError } from '../api/userError';
import { roomPath, signInPath } from '../collab/roomRoute';
import { Notice } from './Notice';

export interface JoinPageProps {
  readonly client: GatewayClient;
  readonly me: MeOutput;
  readonly token: string;
  /** Joined: `me` changed when a guest session was just made. */
  readonly onJoined: (roomPath: string) => void;
  readonly navigate: (path: string) => void;
}

const ROLE_TEXT = { viewer: 'watch (read only)', runner: 'run code and type its input (not edit)', editor: 'edit and run' } as const;

export function JoinPage({ client, me, token, onJoined, navigate }: JoinPageProps) {
  const [info, setInfo] = useState<LinkInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const ac = new AbortController();
    client.rooms.linkInfo.query({ token }, { signal: ac.signal }).then(setInfo, (err: unknown) => {
      if (!ac.signal.aborted) setError(toUserError(err, API_BASE).message);
    });
    return () => ac.abort();
  }, [client, token]);

  const join = (displayName?: string): void => {
    setBusy(true);
    setError(null);
    client.rooms.redeemLink.mutate({ token, ...(displayName ? { displayName } : {}) }).then(
      ({ roomId }) => onJoined(roomPath(roomId)),
      (err: unknown) => {
        setBusy(false);
        setError(toUserError(err, API_BASE).message);
      },
    );
  };

  if (error !== null && info === null) return <Notice title="This link does not work" message={error} />;
  if (info === null) return <Notice title="Opening the link…" busy />;
  const signedIn = me.mode === 'none' || me.user !== null;
  return (
    <Notice title={`Join “${info.title}”`} message={`You will be able to ${ROLE_TEXT[info.role]}.`}>
      {signedIn ? (
        <button type="button" className="btn btn-run" data-testid="join" disabled={busy} onClick={() => join()}>
          Join as {me.user?.displayName ?? 'you'}
        </button>
      ) : (
        <>
          {info.allowGuests ? (
            <form
              className="form"
              onSubmit={(e) => {
                e.preventDefault();
                join(name.trim());
              }}
            >
              <label className="field">
                <span className="field-label">Your name (others see it)</span>
                <input className="field-input" data-testid="guest-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} required />
              </label>
              <button type="submit" className="btn btn-run" data-testid="join-guest" disabled={busy || name.trim() === ''}>
                Join as guest
              </button>
            </form>
          ) : null}
          <p className="small muted">
            {info.allowGuests ? 'Or ' : 'This link is for people with an account: '}
            <a href={signInPath(`/join/${token}`)} data-testid="join-signin" onClick={(e) => (e.preventDefault(), navigate(signInPath(`/join/${token}`)))}>
              sign in
            </a>
            .
          </p>
        </>
      )}
      {error ? (
        <p className="notice-error" role="alert">
          {error}
        </p>
      ) : null}
    </Notice>
  );
}
