/**
 * Pieces of the room editor without state: Monaco options, the decoration of
 * a remote selection, and the "editor ready" mark.
 * @module
 */
import { monaco } from './monaco';

/** Performance mark set when the editor first accepts input (read by the e2e benchmark). */
export const EDITOR_READY_MARK = 'codecell:editor-ready';

export const EDITOR_OPTIONS: monaco.editor.IStandaloneEditorConstructionOptions = {
  automaticLayout: true,
  fontSize: 14,
  lineHeight: 21,
  fontFamily: 'ui-monospace, "SFMono-Regular", "JetBrains Mono", "Cascadia Code", Menlo, Consolas, "DejaVu Sans Mono", monospace',
  fontLigatures: false,
  minimap: { enabled: false },
  scrollBeyondLastLine: false,
  // Room above line 1 for the name label of a cursor there.
  padding: { top: 18, bottom: 12 },
  renderLineHighlight: 'line',
  smoothScrolling: true,
  cursorBlinking: 'smooth',
  overviewRulerBorder: false,
  hideCursorInOverviewRuler: true,
  scrollbar: { verticalScrollbarSize: 10, horizontalScrollbarSize: 10 },
  stickyScroll: { enabled: false },
  fixedOverflowWidgets: true,
};

/** The same classes y-monaco uses, so one stylesheet colours and labels both. */
export function selectionDecoration(
  model: monaco.editor.ITextModel,
  s: { anchor: number; head: number },
  clientId: number,
): monaco.editor.IModelDeltaDecoration {
  const forward = s.anchor <= s.head;
  const start = model.getPositionAt(Math.min(s.anchor, s.head));
  const end = model.getPositionAt(Math.max(s.anchor, s.head));
  const head = `yRemoteSelectionHead yRemoteSelectionHead-${clientId}`;
  return {
    range: new monaco.Range(start.lineNumber, start.column, end.lineNumber, end.column),
    options: {
      className: `yRemoteSelection yRemoteSelection-${clientId}`,
      afterContentClassName: forward ? head : null,
      beforeContentClassName: forward ? null : head,
      stickiness: monaco.editor.TrackedRangeStickiness.NeverGrowsWhenTypingAtEdges,
    },
  };
}

/** Focuses the editor and marks the page as ready for input (tests and the load benchmark wait for it). */
export function markReady(editor: monaco.editor.IStandaloneCodeEditor): void {
  editor.focus();
  if (performance.getEntriesByName(EDITOR_READY_MARK).length === 0) performance.mark(EDITOR_READY_MARK);
  document.body.dataset['editorReady'] = 'true';
}
