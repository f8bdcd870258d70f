/**
 * Hosted mode's account pages: sign in (password, or OpenID Connect through
 * the gateway's redirect), first-admin setup with the token printed in the
 * gateway's log, and sign-up (with an invite, or open sign-up).
 * @module
 */
import { useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { MeOutput } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import type { GatewayClient } from '../api/trpc';
import { toUserError } from '../api/userError';
import { Notice } from './Notice';

interface AuthPageProps {
  readonly client: GatewayClient;
  readonly me: MeOutput;
  /** Signed in: the new `auth.me`. */
  readonly onSignedIn: (me: MeOutput) => void;
  readonly navigate: (path: string) => void;
}

/** Runs `submit` for a form, showing its error; the button is busy meanwhile. */
function useSubmit(submit: () => Promise<void>): { readonly busy: boolean; readonly error: string | null; readonly onSubmit: (e: FormEvent) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return {
    busy,
    error,
    onSubmit: (e) => {
      e.preventDefault();
      setBusy(true);
      setError(null);
      submit().then(
        () => setBusy(false),
        (err: unknown) => {
          setBusy(false);
          setError(toUserError(err, API_BASE).message);
        },
      );
    },
  };
}

function Field({ label, name, type = 'text', value, onChange, autoComplete }: { readonly label: string; readonly name: string; readonly type?: string; readonly value: string; readonly onChange: (v: string) => void; readonly autoComplete?: string }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <input className="field-input" name={name} data-testid={`field-${name}`} type={type} value={value} autoComplete={autoComplete} onChange={(e) => onChange(e.target.value)} required />
    </label>
  );
}

function FormCard({ title, message, error, busy, submitLabel, onSubmit, children }: { readonly title: string; readonly message: string; readonly error: string | null; readonly busy: boolean; readonly submitLabel: string; readonly onSubmit: (e: FormEvent) => void; readonly children: ReactNode }) {
  return (
    <Notice title={title} message={message}>
      <form className="form" onSubmit={onSubmit}>
        {children}
        {error ? (
          <p className="notice-error" role="alert" data-testid="form-error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="btn btn-run" data-testid="form-submit" disabled={busy}>
          {submitLabel}
        </button>
      </form>
    </Notice>
  );
}

/** Sign-in: username and password, or the provider's page (oidc). */
export function SignInPage({ client, me, onSignedIn, navigate, returnTo }: AuthPageProps & { readonly returnTo: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const form = useSubmit(async () => onSignedIn(await client.auth.signIn.mutate({ username, password })));
  if (me.mode === 'oidc' && me.oidcStartPath !== null) {
    const start = `${API_BASE}${me.oidcStartPath}?returnTo=${encodeURIComponent(returnTo)}`;
    return (
      <Notice title="Sign in" message="This CodeCell Live uses your organisation's accounts.">
        <a className="btn btn-run" href={start} data-testid="oidc-signin">
          Sign in
        </a>
      </Notice>
    );
  }
  return (
    <FormCard title="Sign in" message="Sign in to open your rooms." error={form.error} busy={form.busy} submitLabel="Sign in" onSubmit={form.onSubmit}>
      <Field label="Username" name="username" value={username} onChange={setUsername} autoComplete="username" />
      <Field label="Password" name="password" type="password" value={password} onChange={setPassword} autoComplete="current-password" />
      {me.allowSignup ? (
        <p className="small muted">
          No account?{' '}
          <a href="/signup" onClick={(e) => (e.preventDefault(), navigate('/signup'))}>
            Sign up
          </a>
        </p>
      ) : null}
    </FormCard>
  );
}

/** The first admin, with the token of the link the gateway printed in its log. */
export function SetupPage({ client, onSignedIn, token }: AuthPageProps & { readonly token: string }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const form = useSubmit(async () => onSignedIn(await client.auth.setup.mutate({ token, username, password, ...(displayName ? { displayName } : {}) })));
  return (
    <FormCard title="Create the admin account" message="This link works once. The admin creates invites and owns the rooms made before accounts existed." error={form.error} busy={form.busy} submitLabel="Create admin" onSubmit={form.onSubmit}>
      <Field label="Username" name="username" value={username} onChange={setUsername} autoComplete="username" />
      <Field label="Display name" name="displayName" value={displayName} onChange={setDisplayName} autoComplete="name" />
      <Field label="Password (8 characters or more)" name="password" type="password" value={password} onChange={setPassword} autoComplete="new-password" />
    </FormCard>
  );
}

/** Sign-up with an invite (or open sign-up). */
export function SignUpPage({ client, onSignedIn, invite }: AuthPageProps & { readonly invite: string | null }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const form = useSubmit(async () =>
    onSignedIn(await client.auth.signUp.mutate({ username, password, ...(displayName ? { displayName } : {}), ...(invite ? { invite } : {}) })),
  );
  return (
    <FormCard title="Create your account" message="Others see your display name on your cursor and runs." error={form.error} busy={form.busy} submitLabel="Create account" onSubmit={form.onSubmit}>
      <Field label="Username" name="username" value={username} onChange={setUsername} autoComplete="username" />
      <Field label="Display name" name="displayName" value={displayName} onChange={setDisplayName} autoComplete="name" />
      <Field label="Password (8 characters or more)" name="password" type="password" value={password} onChange={setPassword} autoComplete="new-password" />
    </FormCard>
  );
}
