/**
 * Per-user undo: a `Y.UndoManager` that records only the transactions of one
 * origin (the editor binding), so Ctrl+Z never takes back someone else's edit.
 * @module
 */
import * as Y from 'yjs';

/** Edits of one user made within this many ms undo together. */
export const UNDO_CAPTURE_MS = 500;

/** An undo manager for `ytext` that tracks only transactions whose origin is `origin`. */
export function ownUndoManager(ytext: Y.Text, origin: object): Y.UndoManager {
  return new Y.UndoManager(ytext, { trackedOrigins: new Set([origin]), captureTimeout: UNDO_CAPTURE_MS });
}
