/**
 * Compiler diagnostics as Monaco markers (squiggles, hover text, the overview
 * ruler) on the file and line they name. Every participant following a run
 * gets its `diagnostics` event, so everyone sees the same markers; a new run
 * clears them. Files opened later get their markers when their model is made.
 * @module
 */
import type { Diagnostic } from '@codecell/protocol';
import { monaco } from './monaco';

/** Marker owner: only these markers are replaced when diagnostics change. */
export const MARKER_OWNER = 'codecell-compiler';

const SEVERITY: Readonly<Record<Diagnostic['severity'], monaco.MarkerSeverity>> = {
  error: monaco.MarkerSeverity.Error,
  warning: monaco.MarkerSeverity.Warning,
  note: monaco.MarkerSeverity.Info,
};

/**
 * The markers of `path`'s model: one per diagnostic naming that file. A
 * diagnostic without a line marks line 1; without a column, the line's text;
 * with one, the word there (one character where there is none).
 */
export function toMarkers(model: monaco.editor.ITextModel, diagnostics: readonly Diagnostic[], path: string): monaco.editor.IMarkerData[] {
  return diagnostics
    .filter((d) => d.file === path)
    .map((d) => {
      const line = Math.min(Math.max(d.line ?? 1, 1), model.getLineCount());
      const maxColumn = model.getLineMaxColumn(line);
      let startColumn = d.column === null ? Math.max(model.getLineFirstNonWhitespaceColumn(line), 1) : Math.min(d.column, maxColumn);
      let endColumn = d.column === null ? maxColumn : (model.getWordAtPosition({ lineNumber: line, column: startColumn })?.endColumn ?? startColumn + 1);
      if (endColumn > maxColumn) endColumn = maxColumn;
      // At the end of a line (a missing `;`) mark the last character, so there is something to see.
      if (startColumn >= endColumn) startColumn = Math.max(1, endColumn - 1);
      return {
        severity: SEVERITY[d.severity],
        message: d.message,
        ...(d.code === null ? {} : { code: d.code }),
        source: 'compiler',
        startLineNumber: line,
        startColumn,
        endLineNumber: line,
        endColumn: Math.max(endColumn, startColumn + 1),
      };
    });
}

/** The current diagnostics, applied to every model they concern. */
export class DiagnosticMarkers {
  #diagnostics: readonly Diagnostic[] = [];

  /** Replaces the diagnostics and redraws the markers of `models` (path → model). */
  set(diagnostics: readonly Diagnostic[], models: Iterable<{ readonly path: string; readonly model: monaco.editor.ITextModel }>): void {
    if (diagnostics === this.#diagnostics) return;
    this.#diagnostics = diagnostics;
    for (const m of models) this.apply(m);
  }

  /** Draws the current markers of one model (a file just opened). */
  apply({ path, model }: { readonly path: string; readonly model: monaco.editor.ITextModel }): void {
    if (model.isDisposed()) return;
    monaco.editor.setModelMarkers(model, MARKER_OWNER, toMarkers(model, this.#diagnostics, path));
  }

  /** The markers of a model, as line/column/severity/message (tests and the console). */
  static read(model: monaco.editor.ITextModel): Array<{ line: number; column: number; severity: string; message: string }> {
    return monaco.editor.getModelMarkers({ resource: model.uri, owner: MARKER_OWNER }).map((m) => ({
      line: m.startLineNumber,
      column: m.startColumn,
      severity: m.severity === monaco.MarkerSeverity.Error ? 'error' : m.severity === monaco.MarkerSeverity.Warning ? 'warning' : 'note',
      message: m.message,
    }));
  }
}
