/**
 * The people in a room, read from awareness states: name, colour, the file
 * they have open and where their cursor is. States that do not match the
 * protocol's awareness schema (or have no `user` yet) are left out.
 * @module
 */
import { awarenessStateSchema } from '@codecell/protocol';
import type { CollabSelection } from '@codecell/protocol';

/** One client in the room (a person may have several tabs: one per tab). */
export interface Participant {
  /** The Yjs clientID of their document (also the suffix of their cursor CSS classes). */
  readonly clientId: number;
  readonly name: string;
  readonly color: string;
  readonly activeFile: string | null;
  readonly cursor: { readonly line: number; readonly column: number } | null;
  /** Every selection in `activeFile`, primary first. */
  readonly selections: readonly CollabSelection[];
  /** The primary selection as y-monaco wrote it. */
  readonly selection: CollabSelection | null;
  readonly isSelf: boolean;
}

/**
 * Every valid state as a participant: you first, then by name.
 * @param states `awareness.getStates()`
 */
export function participantsFrom(states: ReadonlyMap<number, unknown>, selfId: number): Participant[] {
  const out: Participant[] = [];
  for (const [clientId, raw] of states) {
    const parsed = awarenessStateSchema.safeParse(raw);
    if (!parsed.success || !parsed.data.user) continue;
    const s = parsed.data;
    out.push({
      clientId,
      name: s.user!.name,
      color: s.user!.color,
      activeFile: s.activeFile ?? null,
      cursor: s.cursor ?? null,
      selections: s.selections ?? [],
      selection: s.selection ?? null,
      isSelf: clientId === selfId,
    });
  }
  return out.sort((a, b) => Number(b.isSelf) - Number(a.isSelf) || a.name.localeCompare(b.name) || a.clientId - b.clientId);
}

/** True when two lists would render the same people list (ignores selections). */
export function sameParticipants(a: readonly Participant[], b: readonly Participant[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => {
    const q = b[i]!;
    return (
      p.clientId === q.clientId &&
      p.name === q.name &&
      p.color === q.color &&
      p.activeFile === q.activeFile &&
      p.cursor?.line === q.cursor?.line &&
      p.cursor?.column === q.cursor?.column
    );
  });
}

/** "AL" for "Ada Lovelace", "A" for "Ada". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter((w) => w !== '');
  const letters = words.length > 1 ? [words[0]![0], words[words.length - 1]![0]] : [words[0]?.[0]];
  return letters.filter((l) => l !== undefined).join('').toUpperCase() || '?';
}
