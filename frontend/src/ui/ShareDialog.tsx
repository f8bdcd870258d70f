/**
 * The Share dialog (room owners, hosted mode): a link per role, with an
 * optional expiry and guests allowed or not; copy and revoke links. Revoking
 * disconnects everyone who came with the link.
 * @module
 */
import { useCallback, useEffect, useState } from 'react';
import { SHAREABLE_ROLES } from '@codecell/protocol';
import type { ShareLink, ShareableRole } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import type { GatewayClient } from '../api/trpc';
import { toUserError } from '../api/userError';

const EXPIRY = [
  { label: 'never', hours: undefined },
  { label: '1 hour', hours: 1 },
  { label: '1 day', hours: 24 },
  { label: '7 days', hours: 168 },
] as const;

const ROLE_HINT: Record<ShareableRole, string> = { viewer: 'can watch', runner: 'can run and type input', editor: 'can edit and run' };

export interface ShareDialogProps {
  readonly client: GatewayClient;
  readonly roomId: string;
  readonly onClose: () => void;
}

export function ShareDialog({ client, roomId, onClose }: ShareDialogProps) {
  const [links, setLinks] = useState<readonly ShareLink[]>([]);
  const [role, setRole] = useState<ShareableRole>('viewer');
  const [expiry, setExpiry] = useState(0);
  const [allowGuests, setAllowGuests] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const fail = useCallback((err: unknown) => setError(toUserError(err, API_BASE).message), []);
  const load = useCallback(() => void client.rooms.links.query({ roomId }).then(setLinks, fail), [client, roomId, fail]);
  useEffect(load, [load]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const create = (): void => {
    setError(null);
    const hours = EXPIRY[expiry]?.hours;
    client.rooms.createLink.mutate({ roomId, role, allowGuests, ...(hours === undefined ? {} : { expiresInHours: hours }) }).then(load, fail);
  };
  const revoke = (linkId: string): void => void client.rooms.revokeLink.mutate({ roomId, linkId }).then(load, fail);
  const copy = (link: ShareLink): void => {
    navigator.clipboard.writeText(link.url).then(
      () => setCopied(link.linkId),
      () => setCopied(null),
    );
  };

  return (
    <div className="dialog-backdrop" onClick={onClose}>
      <div className="dialog" role="dialog" aria-modal="true" aria-label="Share this room" data-testid="share-dialog" onClick={(e) => e.stopPropagation()}>
        <div className="dialog-header">
          <span className="pane-title">Share this room</span>
          <span className="spacer" />
          <button type="button" className="banner-close" aria-label="Close" data-testid="share-close" onClick={onClose}>
            ×
          </button>
        </div>
        <div className="share-new">
          <label className="field-inline">
            Anyone with the link
            <select className="field-input" data-testid="share-role" value={role} onChange={(e) => setRole(e.target.value as ShareableRole)}>
              {SHAREABLE_ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_HINT[r]} ({r})
                </option>
              ))}
            </select>
          </label>
          <label className="field-inline">
            expires
            <select className="field-input" data-testid="share-expiry" value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
              {EXPIRY.map((x, i) => (
                <option key={x.label} value={i}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
          <label className="field-inline">
            <input type="checkbox" data-testid="share-guests" checked={allowGuests} onChange={(e) => setAllowGuests(e.target.checked)} />
            without an account (guests)
          </label>
          <button type="button" className="btn btn-run btn-small" data-testid="share-create" onClick={create}>
            Create link
          </button>
        </div>
        {error ? (
          <p className="notice-error" role="alert" data-testid="share-error">
            {error}
          </p>
        ) : null}
        <ul className="share-list">
          {links.length === 0 ? <li className="muted small">No links yet.</li> : null}
          {links.map((l) => (
            <li key={l.linkId} className="share-item" data-testid="share-link" data-role={l.role} data-link={l.linkId}>
              <span className="role-badge">{l.role}</span>
              <input className="field-input share-url mono" readOnly value={l.url} data-testid="share-url" onFocus={(e) => e.target.select()} />
              <span className="muted small">
                {l.expired ? 'expired' : l.expiresAt === null ? 'no expiry' : `until ${new Date(l.expiresAt).toLocaleString()}`}
                {l.allowGuests ? ' · guests' : ''}
              </span>
              <button type="button" className="btn btn-ghost btn-small" onClick={() => copy(l)}>
                {copied === l.linkId ? 'Copied' : 'Copy'}
              </button>
              <button type="button" className="btn btn-danger btn-small" data-testid="share-revoke" onClick={() => revoke(l.linkId)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
