/**
 * The Monaco editor for one workspace file. Loaded lazily (it carries Monaco),
 * so the page shell paints before the editor's ~3 MB arrive.
 * @module
 */
import { useEffect, useRef } from 'react';
import Editor from '@monaco-editor/react';
import type { OnMount } from '@monaco-editor/react';
import { monaco } from './monaco';
import { MONACO_THEME } from './themes';
import type { ThemeName } from './themes';
import type { Workspace } from '../workspace/workspace';

export interface CodeEditorProps {
  readonly workspace: Workspace;
  readonly path: string;
  readonly theme: ThemeName;
  /** Ctrl/Cmd+Enter inside the editor. */
  readonly onRun: () => void;
}

/** Performance mark set when the editor accepts input (read by the e2e benchmark). */
export const EDITOR_READY_MARK = 'codecell:editor-ready';

const OPTIONS = {
  automaticLayout: true,
  fontSize: 14,
  lineHeight: 21,
  fontFamily: 'ui-monospace, "SFMono-Regular", "JetBrains Mono", "Cascadia Code", Menlo, Consolas, "DejaVu Sans Mono", monospace',
  fontLigatures: false,
  minimap: { enabled: false },
  scrollBeyondLastLine: false,
  padding: { top: 12, bottom: 12 },
  tabSize: 4,
  insertSpaces: true,
  renderLineHighlight: 'line',
  smoothScrolling: true,
  cursorBlinking: 'smooth',
  overviewRulerBorder: false,
  hideCursorInOverviewRuler: true,
  scrollbar: { verticalScrollbarSize: 10, horizontalScrollbarSize: 10 },
  stickyScroll: { enabled: false },
  fixedOverflowWidgets: true,
} as const;

export default function CodeEditor({ workspace, path, theme, onRun }: CodeEditorProps) {
  const onRunRef = useRef(onRun);
  useEffect(() => {
    onRunRef.current = onRun;
  }, [onRun]);

  const handleMount: OnMount = (editor) => {
    // Monaco binds Ctrl+Enter to "insert line below"; here it runs the program.
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => onRunRef.current());
    editor.focus();
    performance.mark(EDITOR_READY_MARK);
    document.body.dataset['editorReady'] = 'true';
  };

  return (
    <Editor
      path={path}
      defaultLanguage="python"
      defaultValue={workspace.read(path)}
      theme={MONACO_THEME[theme]}
      options={OPTIONS}
      onMount={handleMount}
      onChange={(value) => workspace.write(path, value ?? '')}
      loading={<div className="editor-loading">Loading editor…</div>}
    />
  );
}
