/**
 * The inline name field of the file tree (new file or folder, rename): Enter
 * submits, Escape or leaving the field cancels; the name is selected without
 * its extension, as file managers do.
 * @module
 */
import { useState } from 'react';
import type { KeyboardEvent } from 'react';
import { FileIcon } from './icons';

export interface NameInputProps {
  readonly depth: number;
  readonly initial: string;
  readonly label: string;
  readonly testId: string;
  readonly onSubmit: (value: string) => void;
  readonly onCancel: () => void;
}

export function NameInput({ depth, initial, label, testId, onSubmit, onCancel }: NameInputProps) {
  const [value, setValue] = useState(initial);
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === 'Enter') {
      e.preventDefault();
      onSubmit(value);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      onCancel();
    }
  };
  return (
    <div className="tree-row tree-input-row" style={{ paddingLeft: 24 + depth * 14 }}>
      <FileIcon />
      <input
        className="tree-input"
        data-testid={testId}
        aria-label={label}
        placeholder="name.py"
        value={value}
        autoFocus
        spellCheck={false}
        autoComplete="off"
        onFocus={(e) => {
          // Select the name without its extension, as file managers do.
          const dot = e.target.value.lastIndexOf('.');
          const slash = e.target.value.lastIndexOf('/') + 1;
          e.target.setSelectionRange(slash, dot > slash ? dot : e.target.value.length);
        }}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={onCancel}
      />
    </div>
  );
}
