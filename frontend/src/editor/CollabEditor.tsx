/**
 * React wrapper of {@link RoomEditor}. Loaded lazily (it carries Monaco), so
 * the page shell paints before the editor's ~3 MB arrive.
 * @module
 */
import { useEffect, useRef, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { Diagnostic } from '@codecell/protocol';
import { RoomEditor } from './RoomEditor';
import type { ThemeName } from './themes';

/** Ask the editor to reveal someone's cursor once; a new `nonce` asks again. */
export interface JumpRequest {
  readonly clientId: number;
  readonly nonce: number;
}

export interface CollabEditorProps {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** The file shown; null or a path not in the room shows nothing. */
  readonly path: string | null;
  readonly theme: ThemeName;
  readonly onRun: () => void;
  readonly onLocalEdit: () => void;
  /** clientID whose cursor the view keeps revealing, or null. */
  readonly follow: number | null;
  readonly jump: JumpRequest | null;
  /** The editor once created (null after it is disposed). */
  readonly onEditor?: (editor: RoomEditor | null) => void;
  /** The caller may not edit (viewer, runner); the server refuses their edits anyway. */
  readonly readOnly?: boolean;
  /** The shown run's compiler diagnostics, drawn as markers in the files they name. */
  readonly diagnostics?: readonly Diagnostic[];
}

const NO_DIAGNOSTICS: readonly Diagnostic[] = [];

export default function CollabEditor(props: CollabEditorProps) {
  const { doc, awareness, path, theme, follow, jump, readOnly = false, diagnostics = NO_DIAGNOSTICS } = props;
  const host = useRef<HTMLDivElement>(null);
  const latest = useRef(props);
  const [editor, setEditor] = useState<RoomEditor | null>(null);

  useEffect(() => {
    latest.current = props;
  });

  useEffect(() => {
    const ed = new RoomEditor({
      host: host.current!,
      doc,
      awareness,
      theme: latest.current.theme,
      onRun: () => latest.current.onRun(),
      onLocalEdit: () => latest.current.onLocalEdit(),
    });
    setEditor(ed);
    latest.current.onEditor?.(ed);
    return () => {
      latest.current.onEditor?.(null);
      ed.dispose();
      setEditor(null);
    };
  }, [doc, awareness]);

  useEffect(() => editor?.setPath(path), [editor, path]);
  useEffect(() => editor?.setTheme(theme), [editor, theme]);
  useEffect(() => editor?.setReadOnly(readOnly), [editor, readOnly]);
  useEffect(() => editor?.setDiagnostics(diagnostics), [editor, diagnostics]);
  useEffect(() => editor?.setFollow(follow), [editor, follow]);
  useEffect(() => {
    if (jump) editor?.jumpTo(jump.clientId);
  }, [editor, jump]);

  return <div ref={host} className="editor-mount" data-testid="monaco-host" />;
}
