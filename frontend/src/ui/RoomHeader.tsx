/**
 * The room page's header: product, room title and share link, Run / Stop, the
 * room connection and gateway status, who is here, New room, theme.
 * @module
 */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { RuntimeId } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import { toUserError } from '../api/userError';
import type { Participant } from '../collab/participants';
import type { RoomSessionState } from '../collab/RoomSession';
import { isActive } from '../run/runState';
import type { RunState } from '../run/runState';
import { ConnectionBadge } from './ConnectionBadge';
import { HealthBadge } from './HealthBadge';
import { NewRoomMenu } from './NewRoomMenu';
import { LinkIcon, LogoMark, MoonIcon, PlayIcon, PlusIcon, StopIcon, SunIcon } from './icons';
import { Avatar } from './PeopleList';
import type { ThemeName } from './theme';

const IS_MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
const RUN_SHORTCUT = IS_MAC ? '⌘↵' : 'Ctrl+↵';

export interface RoomHeaderProps {
  readonly roomId: string;
  readonly title: string | null;
  /** The file Run executes. */
  readonly entry: string;
  /** The language it runs as, e.g. "C++". */
  readonly languageName: string;
  readonly run: RunState;
  readonly onRun: () => void;
  readonly onStop: () => void;
  readonly connection: RoomSessionState;
  readonly people: readonly Participant[];
  readonly onJump: (clientId: number) => void;
  /** Creates a room in a language (AUTH_MODE=none), or goes to My rooms (hosted: `account` is set). */
  readonly onNewRoom: (language?: RuntimeId) => Promise<void>;
  readonly theme: { readonly theme: ThemeName; readonly toggle: () => void };
  /** The caller's role lets them run, type stdin and stop. */
  readonly canRun: boolean;
  /** Opens the Share dialog (owners in hosted mode); null: Share copies the page's link; 'hidden': no Share button (others in hosted mode). */
  readonly onShare: (() => void) | null | 'hidden';
  /** Who is signed in, and Sign out (hosted mode). */
  readonly account: ReactNode;
}

export function RoomHeader({ roomId, title, entry, languageName, run, onRun, onStop, connection, people, onJump, onNewRoom, theme, canRun, onShare, account }: RoomHeaderProps) {
  const active = isActive(run);
  const noRun = canRun ? undefined : 'Your role in this room does not let you run code';
  return (
      <header className="header">
        <div className="brand">
          <LogoMark />
          <span className="brand-name">CodeCell Live</span>
        </div>
        <RoomTitle title={title} roomId={roomId} onShare={onShare} />
        <div className="toolbar" role="toolbar" aria-label="Run controls">
          <button type="button" className="btn btn-run" data-testid="run" onClick={onRun} disabled={active || !canRun} title={noRun ?? `Run ${entry} as ${languageName} (${RUN_SHORTCUT})`}>
            <PlayIcon />
            Run
            <kbd className="kbd-hint">{RUN_SHORTCUT}</kbd>
          </button>
          <button
            type="button"
            className="btn btn-stop"
            data-testid="stop"
            onClick={onStop}
            disabled={!canRun || !active || run.stopping || run.jobId === null}
            title={noRun ?? 'Stop the running program (for everyone)'}
          >
            <StopIcon />
            Stop
          </button>
        </div>
        <span className="spacer" />
        <ConnectionBadge state={connection} />
        <HealthBadge />
        <div className="avatars" aria-label="People in this room">
          {people.slice(0, 5).map((p) => (
            <button key={p.clientId} type="button" className="avatar-btn" title={p.isSelf ? `${p.name} (you)` : `${p.name}: jump to their cursor`} disabled={p.isSelf || !p.activeFile} onClick={() => onJump(p.clientId)}>
              <Avatar name={p.name} color={p.color} small />
            </button>
          ))}
          {people.length > 5 ? <span className="avatar-more">+{people.length - 5}</span> : null}
        </div>
        {account ? <NewRoomHeaderButton onNewRoom={() => onNewRoom()} label="My rooms" /> : <NewRoomMenu onCreate={onNewRoom} />}
        {account}
        <button
          type="button"
          className="btn btn-icon"
          data-testid="theme-toggle"
          onClick={theme.toggle}
          aria-label={theme.theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
          title={theme.theme === 'dark' ? 'Light theme' : 'Dark theme'}
        >
          {theme.theme === 'dark' ? <SunIcon /> : <MoonIcon />}
        </button>
      </header>
  );
}

function RoomTitle({ title, roomId, onShare }: { readonly title: string | null; readonly roomId: string; readonly onShare: (() => void) | null | 'hidden' }) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (copied === 'idle') return;
    const t = setTimeout(() => setCopied('idle'), 1500);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = (): void => {
    if (typeof onShare === 'function') return onShare();
    navigator.clipboard.writeText(location.href).then(
      () => setCopied('copied'),
      () => setCopied('failed'),
    );
  };
  return (
    <div className="room-title">
      <span className="room-name" title={`Room ${roomId}`} data-testid="room-title">
        {title ?? 'Room'}
      </span>
      <span className="room-id muted mono">{roomId}</span>
      {onShare === 'hidden' ? null : (
        <button type="button" className="btn btn-ghost btn-small" onClick={copy} data-testid="copy-link" title={onShare ? 'Share links for this room' : "Copy this room's link to share it"}>
          <LinkIcon />
          {copied === 'copied' ? 'Copied' : copied === 'failed' ? 'Copy failed' : 'Share'}
        </button>
      )}
    </div>
  );
}

function NewRoomHeaderButton({ onNewRoom, label }: { readonly onNewRoom: () => Promise<void>; readonly label: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <button
      type="button"
      className={`btn btn-small-h${error ? ' btn-error' : ''}`}
      data-testid="new-room"
      disabled={busy}
      title={error ?? 'Your rooms'}
      onClick={() => {
        setBusy(true);
        setError(null);
        onNewRoom().then(
          () => setBusy(false),
          (err: unknown) => {
            setBusy(false);
            setError(toUserError(err, API_BASE).message);
          },
        );
      }}
    >
      <PlusIcon />
      <span className="btn-label">{label}</span>
    </button>
  );
}
