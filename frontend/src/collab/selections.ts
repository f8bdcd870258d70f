/**
 * Selections in awareness: local offsets → relative positions (they follow
 * concurrent edits), and remote relative positions → offsets in our copy of
 * the same Y.Text. y-monaco publishes and draws only the primary `selection`;
 * these carry every selection (`selections[]`, primary first).
 * @module
 */
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { MAX_AWARENESS_SELECTIONS } from '@codecell/protocol';
import type { CollabSelection } from '@codecell/protocol';

/** A selection as offsets into a text; `head` is where the cursor is. */
export interface OffsetSelection {
  readonly anchor: number;
  readonly head: number;
}

/**
 * A relative position as plain JSON objects only. Awareness compares states
 * deeply before announcing a change, and class instances (`RelativePosition`,
 * `ID`) never compare equal; plain objects let an unchanged selection stay quiet.
 */
export function plainPosition(rpos: Y.RelativePosition): CollabSelection['anchor'] {
  return JSON.parse(JSON.stringify(rpos)) as CollabSelection['anchor'];
}

/** A y-monaco `selection` ({anchor, head} RelativePositions) as plain JSON. */
export function plainSelection(sel: { anchor: Y.RelativePosition; head: Y.RelativePosition }): CollabSelection {
  return { anchor: plainPosition(sel.anchor), head: plainPosition(sel.head) };
}

/** Awareness form of local selections (at most {@link MAX_AWARENESS_SELECTIONS}). */
export function toCollabSelections(ytext: Y.Text, selections: readonly OffsetSelection[]): CollabSelection[] {
  return selections.slice(0, MAX_AWARENESS_SELECTIONS).map((s) => ({
    anchor: plainPosition(Y.createRelativePositionFromTypeIndex(ytext, s.anchor)),
    head: plainPosition(Y.createRelativePositionFromTypeIndex(ytext, s.head)),
  }));
}

/**
 * Offsets of remote selections that point into `ytext`; the others (another
 * file, or text this client has not received yet) are left out.
 */
export function resolveSelections(ytext: Y.Text, selections: readonly CollabSelection[]): OffsetSelection[] {
  const doc = ytext.doc;
  if (!doc) return [];
  const out: OffsetSelection[] = [];
  for (const s of selections) {
    const anchor = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(s.anchor), doc);
    const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(s.head), doc);
    if (anchor && head && anchor.type === ytext && head.type === ytext) out.push({ anchor: anchor.index, head: head.index });
  }
  return out;
}

/**
 * The awareness as y-monaco gets it: the same object, except that the
 * `selection` it writes is stored as plain JSON instead of Y.RelativePosition
 * instances. Awareness announces a change only when the new state differs
 * deeply, and class instances never compare equal; Monaco fires cursor events
 * while y-monaco redraws decorations, so every redraw would announce a "new"
 * selection, redraw again and recurse ("Invoking deltaDecorations recursively").
 */
export function plainSelectionAwareness(awareness: Awareness): Awareness {
  const setField = (field: string, value: unknown): void => {
    const plain = field === 'selection' && value !== null ? plainSelection(value as Parameters<typeof plainSelection>[0]) : value;
    awareness.setLocalStateField(field, plain);
  };
  return new Proxy(awareness, {
    get(target, prop) {
      if (prop === 'setLocalStateField') return setField;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
