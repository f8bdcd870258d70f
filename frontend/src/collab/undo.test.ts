import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ownUndoManager } from './undo';

/** Two clients whose updates reach each other at once (origin 'remote' on arrival). */
function pair() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b, u, 'remote'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(a, u, 'remote'));
  return { a, b, ta: a.getText('t'), tb: b.getText('t') };
}

describe('ownUndoManager', () => {
  it('undoes and redoes only the local binding’s edits, never remote ones', () => {
    const { a, b, ta, tb } = pair();
    const bindingA = {};
    const bindingB = {};
    const undoA = ownUndoManager(ta, bindingA);
    const undoB = ownUndoManager(tb, bindingB);
    a.transact(() => ta.insert(0, 'one\n'), bindingA);
    undoA.stopCapturing();
    b.transact(() => tb.insert(4, 'two\n'), bindingB);
    a.transact(() => ta.insert(8, 'three\n'), bindingA);
    expect(tb.toJSON()).toBe('one\ntwo\nthree\n');
    undoA.undo();
    expect(tb.toJSON()).toBe('one\ntwo\n');
    undoA.undo();
    expect(ta.toJSON()).toBe('two\n');
    expect(undoA.canUndo()).toBe(false);
    undoA.redo();
    expect(tb.toJSON()).toBe('one\ntwo\n');
    undoB.undo();
    expect(ta.toJSON()).toBe('one\n');
  });

  it('ignores edits with other origins on the same client (e.g. a paste by another tool)', () => {
    const doc = new Y.Doc();
    const t = doc.getText('t');
    const undo = ownUndoManager(t, {});
    doc.transact(() => t.insert(0, 'x'), 'someone else');
    expect(undo.canUndo()).toBe(false);
  });
});
