/**
 * `window.codecell`: views of the open room for tests and the browser console
 * (files and text as the document has them, connection state), and a raw
 * write that bypasses the editor (`forgeEdit`).
 * @module
 */
import { useEffect } from 'react';
import type { RefObject } from 'react';
import * as Y from 'yjs';
import { bytesToBase64 } from '@codecell/protocol';
import { fileBytes, filePaths, filesOf, runFiles } from '../collab/roomFiles';
import { runSubmission } from '../collab/roomLanguage';
import type { RoomSession } from '../collab/RoomSession';
import type { RoomEditor } from '../editor/RoomEditor';
import { screenOf } from '../terminal/screens';

/** Installs `window.codecell` while the room is open. */
export function useDebugHandle({
  roomId,
  session,
  editorRef,
  activeRef,
}: {
  readonly roomId: string;
  readonly session: RoomSession;
  readonly editorRef: RefObject<RoomEditor | null>;
  readonly activeRef: RefObject<string | null>;
}): void {
  useEffect(() => {
    const handle = {
      roomId,
      clientId: () => session.doc.clientID,
      files: () => filePaths(session.doc),
      text: (path: string) => {
        const value = filesOf(session.doc).get(path);
        return value instanceof Y.Text ? value.toJSON() : null;
      },
      /** Any file's bytes as base64 (text as UTF-8), or null. */
      bytes: (path: string) => {
        const bytes = fileBytes(session.doc, path);
        return bytes === null ? null : bytesToBase64(bytes);
      },
      entry: () => runFiles(session.doc).entry,
      activeFile: () => activeRef.current,
      editorText: () => editorRef.current?.model?.getValue() ?? null,
      /** Monaco's language id of the open file ("cpp", "go"…). */
      editorLanguage: () => editorRef.current?.model?.getLanguageId() ?? null,
      /** The language Run uses now. */
      runLanguage: () => runSubmission(session.doc).language,
      /** Compiler markers of `path` (null while the editor has no model for it). */
      markers: (path: string) => editorRef.current?.markersOf(path) ?? null,
      visibleLines: () => editorRef.current?.editor.getVisibleRanges().map((r) => [r.startLineNumber, r.endLineNumber]) ?? [],
      state: () => session.getState(),
      /**
       * Writes straight into the room's document, past the (maybe read-only)
       * editor: what anyone can do from the console. The server decides whether
       * it stays (tests of read-only roles).
       */
      forgeEdit: (path: string, text: string) => {
        const value = filesOf(session.doc).get(path);
        if (value instanceof Y.Text) value.insert(0, text);
      },
      /** A terminal screen's text (`output-terminal`, `terminal-view-bash`…), or null when it is not on the page. */
      screen: (id: string) => screenOf(id)?.text() ?? null,
      /** A terminal screen's size in cells, or null. */
      screenSize: (id: string) => screenOf(id)?.size() ?? null,
      /** Where a terminal screen is scrolled to, or null. */
      screenScroll: (id: string) => screenOf(id)?.scroll() ?? null,
      /** Types into a terminal screen as the keyboard would (benchmarks time keystroke → echo with it). */
      screenType: (id: string, data: string) => screenOf(id)?.type(data),
    };
    (window as unknown as { codecell?: typeof handle }).codecell = handle;
    return () => {
      delete (window as unknown as { codecell?: typeof handle }).codecell;
    };
  }, [roomId, session, editorRef, activeRef]);
}
