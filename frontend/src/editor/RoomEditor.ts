/**
 * The room's Monaco editor: one model per file (switched, never recreated,
 * so undo history and scroll survive), each bound to its Y.Text; this user's
 * cursor and every selection published in awareness; every remote selection
 * drawn (y-monaco draws each person's primary one, this draws the others);
 * following someone and jumping to them; compiler diagnostics as markers.
 * @module
 */
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Diagnostic } from '@codecell/protocol';
import { filesOf } from '../collab/roomFiles';
import { participantsFrom } from '../collab/participants';
import type { Participant } from '../collab/participants';
import { resolveSelections, toCollabSelections } from '../collab/selections';
import { DiagnosticMarkers } from './diagnosticMarkers';
import { bindFile } from './fileBinding';
import type { BoundFile } from './fileBinding';
import { monaco } from './monaco';
import { EDITOR_OPTIONS, markReady, selectionDecoration } from './editorParts';
import { MONACO_THEME } from './themes';
import type { ThemeName } from './themes';

export interface RoomEditorOptions {
  readonly host: HTMLElement;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly theme: ThemeName;
  /** Ctrl/Cmd+Enter in the editor. */
  readonly onRun: () => void;
  /** This user edited the text (typing, paste, undo). */
  readonly onLocalEdit: () => void;
}

let instanceCount = 0;

export class RoomEditor {
  readonly editor: monaco.editor.IStandaloneCodeEditor;
  readonly #o: RoomEditorOptions;
  readonly #instance = ++instanceCount;
  readonly #bound = new Map<string, BoundFile>();
  readonly #decorations: monaco.editor.IEditorDecorationsCollection;
  readonly #cleanup: Array<() => void> = [];
  readonly #markers = new DiagnosticMarkers();
  #path: string | null = null;
  /** Where to put the cursor once `path` is shown (a click on a compiler message). */
  #pendingGoTo: { readonly path: string; readonly line: number; readonly column: number } | null = null;
  #current: BoundFile | null = null;
  #follow: number | null = null;
  #pendingJump: number | null = null;
  #ready = false;

  constructor(o: RoomEditorOptions) {
    this.#o = o;
    this.editor = monaco.editor.create(o.host, { ...EDITOR_OPTIONS, model: null, theme: MONACO_THEME[o.theme] });
    // Monaco binds Ctrl+Enter to "insert line below"; here it runs the program.
    this.editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => o.onRun());
    this.#decorations = this.editor.createDecorationsCollection();

    const cursor = this.editor.onDidChangeCursorSelection(() => this.#publish());
    this.#cleanup.push(() => cursor.dispose());

    const files = filesOf(o.doc);
    const onFiles = (): void => this.#syncFiles();
    files.observe(onFiles);
    this.#cleanup.push(() => files.unobserve(onFiles));

    const onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }): void => {
      const self = o.doc.clientID;
      if ([...added, ...updated, ...removed].every((id) => id === self)) return;
      this.#renderRemote();
      this.#followReveal();
    };
    o.awareness.on('change', onAwareness);
    this.#cleanup.push(() => o.awareness.off('change', onAwareness));
  }

  /** Shows `path` (null: nothing). A path not (or no longer) in the room shows nothing. */
  setPath(path: string | null): void {
    this.#path = path;
    this.#show();
  }

  /** Read-only for people whose role does not let them edit. */
  setReadOnly(readOnly: boolean): void {
    this.editor.updateOptions({ readOnly, readOnlyMessage: { value: 'Your role in this room does not let you edit (ask its owner).' } });
  }

  setTheme(theme: ThemeName): void {
    monaco.editor.setTheme(MONACO_THEME[theme]);
  }

  /** Keeps revealing `clientId`'s cursor as it moves (null: stop). The page switches files. */
  setFollow(clientId: number | null): void {
    this.#follow = clientId;
    this.#followReveal();
  }

  /** Reveals `clientId`'s cursor once, now or as soon as their file is shown. */
  jumpTo(clientId: number): void {
    const p = this.#participant(clientId);
    if (p && p.activeFile === this.#path && this.#current) {
      this.#reveal(p, monaco.editor.ScrollType.Immediate);
      this.editor.focus();
    } else {
      this.#pendingJump = clientId;
    }
  }

  /** Shows these compiler diagnostics as markers, in every file they name (an empty list clears them). */
  setDiagnostics(diagnostics: readonly Diagnostic[]): void {
    this.#markers.set(diagnostics, this.#bound.values());
  }

  /** Puts the cursor at 1-based `line`/`column` of `path`, now or once the page shows that file. */
  goTo(o: { readonly path: string; readonly line: number; readonly column: number }): void {
    this.#pendingGoTo = o;
    if (this.#path === o.path && this.#current) this.#show();
  }

  /** The compiler markers of `path` (null while it has no model): for tests and the console. */
  markersOf(path: string): ReturnType<typeof DiagnosticMarkers.read> | null {
    const bound = this.#bound.get(path);
    return bound ? DiagnosticMarkers.read(bound.model) : null;
  }

  /** The open file's model (tests and the page read its text). */
  get model(): monaco.editor.ITextModel | null {
    return this.#current?.model ?? null;
  }

  dispose(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
    for (const b of this.#bound.values()) b.dispose();
    this.#bound.clear();
    this.#current = null;
    this.editor.dispose();
    delete document.body.dataset['editorReady'];
  }

  /** Drops bindings whose Y.Text left the room (deleted, renamed, replaced), then shows the current path. */
  #syncFiles(): void {
    const files = filesOf(this.#o.doc);
    for (const [path, bound] of this.#bound) {
      if (files.get(path) === bound.ytext) continue;
      if (this.#current === bound) {
        this.editor.setModel(null);
        this.#current = null;
      }
      bound.dispose();
      this.#bound.delete(path);
    }
    this.#show();
  }

  #show(): void {
    const path = this.#path;
    const ytext = path === null ? undefined : filesOf(this.#o.doc).get(path);
    if (path === null || !(ytext instanceof Y.Text)) {
      if (this.#current) {
        this.#current.viewState = this.editor.saveViewState();
        this.editor.setModel(null);
        this.#current = null;
      }
      this.#decorations.clear();
      this.#o.awareness.setLocalState({
        ...this.#o.awareness.getLocalState(),
        activeFile: null,
        selection: null,
        selections: [],
        cursor: null,
      });
      return;
    }
    let bound = this.#bound.get(path);
    if (!bound) {
      bound = bindFile({
        path,
        ytext,
        editor: this.editor,
        awareness: this.#o.awareness,
        uri: monaco.Uri.from({ scheme: 'codecell', path: `/${this.#instance}/${path}` }),
        onLocalEdit: this.#o.onLocalEdit,
      });
      this.#bound.set(path, bound);
      this.#markers.apply(bound);
    }
    if (this.#current !== bound) {
      if (this.#current) this.#current.viewState = this.editor.saveViewState();
      this.editor.setModel(bound.model);
      if (bound.viewState) this.editor.restoreViewState(bound.viewState);
      this.#current = bound;
      this.#publish();
      bound.binding._rerenderDecorations();
      this.#renderRemote();
      if (!this.#ready) {
        this.#ready = true;
        markReady(this.editor);
      }
    }
    if (this.#pendingGoTo?.path === path) {
      const pos = bound.model.validatePosition({ lineNumber: this.#pendingGoTo.line, column: this.#pendingGoTo.column });
      this.#pendingGoTo = null;
      this.editor.setPosition(pos);
      this.editor.revealPositionInCenterIfOutsideViewport(pos, monaco.editor.ScrollType.Immediate);
      this.editor.focus();
    }
    if (this.#pendingJump !== null) {
      const p = this.#participant(this.#pendingJump);
      this.#pendingJump = null;
      if (p?.activeFile === path) this.#reveal(p, monaco.editor.ScrollType.Immediate);
    }
    this.#followReveal();
  }

  /** Publishes the active file, every selection (primary first) and the cursor. */
  #publish(): void {
    const bound = this.#current;
    if (!bound || this.editor.getModel() !== bound.model) return;
    const model = bound.model;
    const selections = (this.editor.getSelections() ?? []).map((s) => ({
      anchor: model.getOffsetAt({ lineNumber: s.selectionStartLineNumber, column: s.selectionStartColumn }),
      head: model.getOffsetAt(s.getPosition()),
    }));
    const collab = toCollabSelections(bound.ytext, selections);
    const pos = this.editor.getPosition();
    this.#o.awareness.setLocalState({
      ...this.#o.awareness.getLocalState(),
      activeFile: bound.path,
      selection: collab[0] ?? null,
      selections: collab,
      cursor: pos ? { line: pos.lineNumber, column: pos.column } : null,
    });
  }

  /** Draws every remote selection but each person's primary one (y-monaco draws that). */
  #renderRemote(): void {
    const bound = this.#current;
    if (!bound) return this.#decorations.clear();
    const decorations: monaco.editor.IModelDeltaDecoration[] = [];
    for (const p of participantsFrom(this.#o.awareness.getStates(), this.#o.doc.clientID)) {
      if (p.isSelf || p.selections.length < 2) continue;
      for (const s of resolveSelections(bound.ytext, p.selections.slice(1))) {
        decorations.push(selectionDecoration(bound.model, s, p.clientId));
      }
    }
    this.#decorations.set(decorations);
  }

  #followReveal(): void {
    if (this.#follow === null || !this.#current) return;
    const p = this.#participant(this.#follow);
    if (p && p.activeFile === this.#path) this.#reveal(p, monaco.editor.ScrollType.Smooth);
  }

  #reveal(p: Participant, scroll: monaco.editor.ScrollType): void {
    const bound = this.#current;
    if (!bound) return;
    const primary = p.selection ?? p.selections[0];
    const [resolved] = primary ? resolveSelections(bound.ytext, [primary]) : [];
    const pos = resolved
      ? bound.model.getPositionAt(resolved.head)
      : p.cursor
        ? bound.model.validatePosition({ lineNumber: p.cursor.line, column: p.cursor.column })
        : null;
    if (pos) this.editor.revealPositionInCenterIfOutsideViewport(pos, scroll);
  }

  #participant(clientId: number): Participant | undefined {
    const state = this.#o.awareness.getStates().get(clientId);
    return participantsFrom(new Map([[clientId, state]]), this.#o.doc.clientID)[0];
  }
}
