/**
 * "Run main.cpp as [C++ 12.2.0 ▾]" above the editor: which language Run uses
 * for the entry file, with the versions the sandbox reports. The entry's
 * extension decides; picking another language makes a file of it the entry
 * (adding its hello-world program when the room has none), for everyone.
 * @module
 */
import { useState } from 'react';
import type * as Y from 'yjs';
import { isRuntimeId } from '@codecell/protocol';
import { chooseLanguage, languageChange, pickerLabel } from '../collab/roomLanguage';
import type { RoomFilesView } from './useRoom';
import { useRuntimes } from './useRuntimes';

export interface RuntimePickerProps {
  readonly doc: Y.Doc;
  readonly files: RoomFilesView;
  /** The caller may not edit the room (choosing changes its files or meta). */
  readonly readOnly: boolean;
  /** Opens the entry after a change made another file the entry. */
  readonly onOpen: (path: string) => void;
}

const HELP =
  'The language Run uses. It follows the entry file: main.go runs as Go. Choose another language to run a file of that language instead ' +
  '(its hello-world program is added when the room has none). Only files without a known extension (or .h) can run as a language of your choice.';

export function RuntimePicker({ doc, files, readOnly, onOpen }: RuntimePickerProps) {
  const runtimes = useRuntimes();
  const [error, setError] = useState<string | null>(null);
  const entry = files.entry ?? files.paths[0] ?? null;
  if (entry === null) return null;
  return (
    <label className="runtime-picker" title={HELP}>
      <span className="muted small">
        Run <code data-testid="run-entry">{entry}</code> as
      </span>
      <select
        className="runtime-select"
        data-testid="runtime-picker"
        value={files.language}
        disabled={readOnly}
        aria-label={`Language to run ${entry} as`}
        onChange={(e) => {
          const language = e.target.value;
          if (!isRuntimeId(language)) return;
          setError(null);
          try {
            onOpen(chooseLanguage(doc, language));
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        {runtimes.map((r) => (
          <option key={r.language} value={r.language}>
            {pickerLabel(r, languageChange({ entry, paths: files.paths, language: r.language }))}
          </option>
        ))}
      </select>
      {error ? (
        <span className="picker-error" role="alert">
          {error}
        </span>
      ) : null}
    </label>
  );
}
