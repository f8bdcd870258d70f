/**
 * One room file open in Monaco: its model, the y-monaco binding to its Y.Text,
 * and undo/redo that only touch this user's own edits.
 *
 * y-monaco 0.1.6 sets up no undo manager, and Monaco's own undo stack holds
 * only local edits (remote ones arrive through `applyEdits`, which skips it),
 * so undoing through Monaco would replay stale offsets over remote text. The
 * model's undo/redo (every route: keys, menus, commands) go to a
 * `Y.UndoManager` that tracks only the binding's transactions instead.
 * @module
 */
import type { Awareness } from 'y-protocols/awareness';
import { MonacoBinding } from 'y-monaco';
import type * as Y from 'yjs';
import { languageOf } from '../collab/roomFiles';
import { plainSelectionAwareness } from '../collab/selections';
import { ownUndoManager } from '../collab/undo';
import { monaco } from './monaco';

export interface BoundFile {
  readonly path: string;
  readonly ytext: Y.Text;
  readonly model: monaco.editor.ITextModel;
  readonly binding: MonacoBinding;
  readonly undoManager: Y.UndoManager;
  /** Scroll and cursor when the user switched away; restored on return. */
  viewState: monaco.editor.ICodeEditorViewState | null;
  /** Disposes the model (which destroys the binding) and the undo manager. Safe to call twice. */
  dispose(): void;
}

export interface BindFileOptions {
  readonly path: string;
  readonly ytext: Y.Text;
  readonly editor: monaco.editor.IStandaloneCodeEditor;
  readonly awareness: Awareness;
  /** Unique among live models. */
  readonly uri: monaco.Uri;
  /** Called for each of this user's own edits (typing, paste, undo). */
  readonly onLocalEdit: () => void;
}

export function bindFile(o: BindFileOptions): BoundFile {
  const model = monaco.editor.createModel(o.ytext.toJSON(), languageOf(o.path), o.uri);
  model.updateOptions({ tabSize: 4, insertSpaces: true });
  const binding = new MonacoBinding(o.ytext, model, new Set([o.editor]), plainSelectionAwareness(o.awareness));
  const undoManager = ownUndoManager(o.ytext, binding);

  const onEdit = (e: Y.YTextEvent): void => {
    if (e.transaction.origin === binding || e.transaction.origin === undoManager) o.onLocalEdit();
  };
  o.ytext.observe(onEdit);

  /** Runs an undo or redo, then puts the cursor where it changed the text (as Monaco's own undo does). */
  const undoRedo = (run: () => unknown): void => {
    let at: number | null = null;
    const track = (e: Y.YTextEvent): void => {
      if (e.transaction.origin !== undoManager) return;
      let index = 0;
      for (const op of e.delta) {
        if (op.retain !== undefined) index += op.retain;
        else if (typeof op.insert === 'string') at = index += op.insert.length;
        else if (op.delete !== undefined) at = index;
      }
    };
    o.ytext.observe(track);
    try {
      run();
    } finally {
      o.ytext.unobserve(track);
    }
    if (at !== null && o.editor.getModel() === model) {
      const pos = model.getPositionAt(at);
      o.editor.setPosition(pos);
      o.editor.revealPositionInCenterIfOutsideViewport(pos);
    }
  };
  model.undo = () => undoRedo(() => undoManager.undo());
  model.redo = () => undoRedo(() => undoManager.redo());
  model.canUndo = () => undoManager.canUndo();
  model.canRedo = () => undoManager.canRedo();

  let disposed = false;
  return {
    path: o.path,
    ytext: o.ytext,
    model,
    binding,
    undoManager,
    viewState: null,
    dispose() {
      if (disposed) return;
      disposed = true;
      o.ytext.unobserve(onEdit);
      undoManager.destroy();
      // Disposing the model destroys the binding (y-monaco listens for it);
      // destroying it again would make Yjs log a missing-observer error.
      model.dispose();
    },
  };
}

