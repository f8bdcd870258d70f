/**
 * Who has access to the room and with which role (hosted mode). The owner
 * changes roles and removes people here; they are disconnected or reconnected
 * with their new rights at once.
 * @module
 */
import { useCallback, useEffect, useState } from 'react';
import { SHAREABLE_ROLES } from '@codecell/protocol';
import type { Member, ShareableRole } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import type { GatewayClient } from '../api/trpc';
import { toUserError } from '../api/userError';

/** How often the list is read again (people join through links meanwhile). */
const REFRESH_MS = 10_000;

export interface MembersListProps {
  readonly client: GatewayClient;
  readonly roomId: string;
  readonly isOwner: boolean;
  /** Changes when people come or go (awareness): the list is read again then. */
  readonly presence: string;
}

export function MembersList({ client, roomId, isOwner, presence }: MembersListProps) {
  const [members, setMembers] = useState<readonly Member[]>([]);
  const [error, setError] = useState<string | null>(null);
  const fail = useCallback((err: unknown) => setError(toUserError(err, API_BASE).message), []);
  const load = useCallback(() => void client.rooms.members.query({ roomId }).then((m) => (setMembers(m), setError(null)), fail), [client, roomId, fail]);
  useEffect(() => {
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => clearInterval(t);
  }, [load, presence]);

  const setRole = (userId: string, role: ShareableRole): void => void client.rooms.setRole.mutate({ roomId, userId, role }).then(load, fail);
  const remove = (userId: string): void => void client.rooms.removeMember.mutate({ roomId, userId }).then(load, fail);

  return (
    <section className="side-section" aria-label="Access" data-testid="members">
      <div className="side-header">
        <span className="pane-title">Access</span>
        <span className="count-badge">{members.length}</span>
      </div>
      {error ? <div className="tree-error">{error}</div> : null}
      <ul className="people-list">
        {members.map((m) => (
          <li key={m.userId} className="person" data-testid="member" data-user={m.userId} data-role={m.role}>
            <span className="person-name">
              {m.displayName}
              <span className="muted small"> {m.guest ? 'guest' : m.username ? `@${m.username}` : ''}</span>
            </span>
            <span className="spacer" />
            {isOwner && m.role !== 'owner' ? (
              <>
                <select className="role-select" aria-label={`Role of ${m.displayName}`} data-testid="member-role" value={m.role} onChange={(e) => setRole(m.userId, e.target.value as ShareableRole)}>
                  {SHAREABLE_ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
                <button type="button" className="icon-btn icon-danger" aria-label={`Remove ${m.displayName}`} title="Remove from the room" data-testid="member-remove" onClick={() => remove(m.userId)}>
                  ×
                </button>
              </>
            ) : (
              <span className="role-badge">{m.role}</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
