/**
 * Monaco themes matching the page's light and dark palettes (ui/styles.css).
 * @module
 */
import type * as Monaco from 'monaco-editor/editor/editor.api';

export type ThemeName = 'light' | 'dark';

/** Monaco theme id for each page theme. */
export const MONACO_THEME: Readonly<Record<ThemeName, string>> = Object.freeze({
  light: 'codecell-light',
  dark: 'codecell-dark',
});

/** Registers both themes; call once before creating an editor. */
export function defineThemes(monaco: typeof Monaco): void {
  monaco.editor.defineTheme(MONACO_THEME.light, {
    base: 'vs',
    inherit: true,
    rules: [
      { token: 'comment', foreground: '6a737d', fontStyle: 'italic' },
      { token: 'keyword', foreground: '8839ef' },
      { token: 'string', foreground: '2f7d32' },
      { token: 'number', foreground: 'b35900' },
    ],
    colors: {
      'editor.background': '#ffffff',
      'editor.lineHighlightBackground': '#f4f6fa',
      'editorLineNumber.foreground': '#a4acb9',
      'editorLineNumber.activeForeground': '#4b5563',
      'editorGutter.background': '#ffffff',
      'editor.selectionBackground': '#cfe0ff',
      'editorIndentGuide.background1': '#eceff4',
    },
  });
  monaco.editor.defineTheme(MONACO_THEME.dark, {
    base: 'vs-dark',
    inherit: true,
    rules: [
      { token: 'comment', foreground: '7f8796', fontStyle: 'italic' },
      { token: 'keyword', foreground: 'c39bff' },
      { token: 'string', foreground: '9ece6a' },
      { token: 'number', foreground: 'ff9e64' },
    ],
    colors: {
      'editor.background': '#16181d',
      'editor.lineHighlightBackground': '#1e2128',
      'editorLineNumber.foreground': '#4b5263',
      'editorLineNumber.activeForeground': '#aab1bf',
      'editorGutter.background': '#16181d',
      'editor.selectionBackground': '#2f4a7a',
      'editorIndentGuide.background1': '#23262e',
    },
  });
}
